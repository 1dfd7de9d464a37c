#include "suite.h"

#include "torch_message.h"

#include "apple.h"
#include "cli.h"
#include "device.h"
#include "dtypes.h"
#include "fallback.h"
#include "host.h"
#include "gbench_glue.h"
#include "mps_verdict.h"
#include "naming.h"
#include "ops_libraries.h"
#include "paths.h"
#include "regular_file.h"
#include "run_context.h"
#include "workload.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <climits>

namespace mpsfb {
namespace {

std::optional<c10::OperatorHandle> find_schema(const std::string& op) {
  const auto [name, overload] = split_overload(op);
  return c10::Dispatcher::singleton().findSchema({name, overload});
}

// Overloads the dispatcher knows for `name`, for "did you mean" messages.
std::vector<std::string> overloads_of(const std::string& name) {
  std::vector<std::string> out;
  for (const auto& n : c10::Dispatcher::singleton().getAllOpNames())
    if (n.name == name) out.push_back(n.overload_name.empty() ? "(default)" : n.overload_name);
  return out;
}


std::string fixed(double v, int digits) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

// This program's file, to run it again: what the OS says (macOS: _NSGetExecutablePath; Linux:
// /proc/self/exe), else argv[0] resolved as the shell did (through PATH when it has no '/').
std::string self_path(const char* argv0) {
  std::string self = apple::executable_path();
  struct stat st {};
  if (self.empty() && ::stat("/proc/self/exe", &st) == 0) self = "/proc/self/exe";
  char cwd[PATH_MAX] = {0};
  const char* path = std::getenv("PATH");
  return host::resolve_executable(self, argv0 ? argv0 : "", path ? path : "", getcwd(cwd, sizeof cwd) ? cwd : ".",
                                  [](const std::string& p) { return ::access(p.c_str(), X_OK) == 0; });
}

// PYTORCH_ENABLE_MPS_FALLBACK is read while libtorch loads, before main(): setting it now
// is too late, so run again with it set (reference: mps-fallback-facts.md §1). An explicit 0
// is kept: the cases of ops without a kernel then report the NotImplementedError as the
// detection (runner.cpp, host.h not_implemented_verdict).
void reexec_with_mps_fallback_if_needed(const CliOptions& o, const std::vector<char*>& original_argv) {
  const bool may_use_mps = o.device == "mps" || o.device == "auto";
  const host::ReexecPlan plan =
      host::plan_reexec(std::getenv("PYTORCH_ENABLE_MPS_FALLBACK"), o.device, may_use_mps && mps_available());
  if (!plan.note.empty()) std::cerr << "mps_benchmarks: " << plan.note << "\n";
  if (!plan.reexec) return;
  const std::string self = self_path(original_argv.empty() ? nullptr : original_argv[0]);
  if (self.empty())
    throw std::runtime_error("cannot find this program's file to run it again with PYTORCH_ENABLE_MPS_FALLBACK=1 "
                             "(set the variable yourself: PYTORCH_ENABLE_MPS_FALLBACK=1 mps_benchmarks ...)");
  setenv("PYTORCH_ENABLE_MPS_FALLBACK", "1", 1);
  std::vector<char*> args = original_argv;
  args.push_back(nullptr);
  execv(self.c_str(), args.data());
  throw std::runtime_error("could not re-execute " + self + " with PYTORCH_ENABLE_MPS_FALLBACK=1: " +
                           std::string(strerror(errno)));
}

// The op suite's context: the run's, the targets file, the emulation mode and the copy model.
void add_context(const RunContext& ctx, const Targets& t) {
  add_run_context(ctx);
  if (ctx.emulating()) benchmark::AddCustomContext(context::kEmulate, ctx.emulate_all ? "all" : "falls-back");
  benchmark::AddCustomContext(context::kTargets, t.path);
  benchmark::AddCustomContext(context::kTargetsSha1, t.sha1);
  if (!ctx.device.is_cpu()) {
    benchmark::AddCustomContext(context::kH2dGBps, fixed(ctx.copy.h2d_bytes_per_us / 1e3, 3));
    benchmark::AddCustomContext(context::kD2hGBps, fixed(ctx.copy.d2h_bytes_per_us / 1e3, 3));
    benchmark::AddCustomContext(context::kSyncUs, fixed(ctx.copy.sync_us, 3));
  }
}

// --list-verdicts: each target op's verdict for this torch, judged on its first case (a
// composite's leaves from one CPU call), as JSON on stdout: what tools/sync_requests records.
void print_verdicts(const Targets& targets, const RunContext& ctx) {
  nlohmann::ordered_json out;
  out["torch_version"] = ctx.verdicts->torch_version();
  out[context::kNativeFunctions] = ctx.native_functions;
  out[context::kVerdictSource] = ctx.verdicts->yaml_source();
  out[context::kVerdictId] = ctx.verdicts->origin().id;
  auto& ops = out["ops"] = nlohmann::ordered_json::array();
  for (const auto& t : targets.ops) {
    verdicts::Verdict v = ctx.verdicts->judge(t.op, "", nullptr);
    const auto handle = find_schema(t.op);
    const OpCalls* calls = handle && !t.needs_fixture ? find_op(t.args ? kGenericFixture : t.op) : nullptr;
    if (calls && !t.shapes.empty() && !t.dtypes.empty()) {
      const Case c{&t, *handle, t.shapes.front(), t.dtypes.front(), &ctx};
      try {
        v = case_verdict(c, *calls);
      } catch (const std::exception& e) {
        v.source += "; the CPU call that shows its leaves failed: " + one_line(torch_message(e), 200);
      }
    }
    nlohmann::ordered_json row;
    row["op"] = t.op;
    row[label::kMpsVerdict] = v.verdict;
    row[label::kMpsVia] = v.via;
    row[label::kVerdictSource] = v.source;
    row["text"] = v.text(t.op);
    ops.push_back(std::move(row));
  }
  std::cout << out.dump(2) << "\n";
}

// Note [Filters Google Benchmark can match]: Google Benchmark matches --benchmark_filter with
// std::regex, which recurses per character and backtracks: a 20,000-character filter or 30,000
// nested parentheses overflowed the stack inside it, and a repetition of a group that can
// match in several ways, `(.|.)*(.|.)*...Z`, took exponential time on one case name. So a
// filter is held to what names need (they are under 300 characters): kMaxFilter characters,
// kMaxFilterDepth nested groups, no repeated group that itself repeats or alternates, at most
// kMaxFilterRepeats unbounded repetitions (each multiplies the work by a name's length), and
// bounds {m,n} up to 255 (POSIX's RE_DUP_MAX).
constexpr size_t kMaxFilter = 1000;
constexpr int kMaxFilterDepth = 16;
constexpr int kMaxFilterRepeats = 6;
constexpr long kMaxFilterBound = 255;

// Why `filter` (an extended regular expression) is refused, or "".
std::string filter_problem(const std::string& filter) {
  if (filter.size() > kMaxFilter)
    return "longer than " + std::to_string(kMaxFilter) + " characters (" + std::to_string(filter.size()) + ")";
  struct Group {
    bool repeats_or_alternates = false;
  };
  std::vector<Group> open(1);
  int unbounded = 0;
  bool after_group = false;  // the atom just read is a (...) group
  bool group_inner = false;  // ... which repeats or alternates inside
  for (size_t i = 0; i < filter.size(); ++i) {
    const char c = filter[i];
    bool quantifier = false, unbounded_q = false;
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      size_t j = i + 1;
      if (j < filter.size() && filter[j] == '^') ++j;
      if (j < filter.size() && filter[j] == ']') ++j;
      while (j < filter.size() && filter[j] != ']') ++j;
      i = j;
    } else if (c == '(') {
      open.emplace_back();
      if (static_cast<int>(open.size()) - 1 > kMaxFilterDepth)
        return "groups nested deeper than " + std::to_string(kMaxFilterDepth) + " levels";
      after_group = false;
      continue;
    } else if (c == ')' && open.size() > 1) {
      group_inner = open.back().repeats_or_alternates;
      open.pop_back();
      if (group_inner) open.back().repeats_or_alternates = true;
      after_group = true;
      continue;
    } else if (c == '|') {
      open.back().repeats_or_alternates = true;
    } else if (c == '*' || c == '+' || c == '?') {
      quantifier = true;
      unbounded_q = c != '?';
    } else if (c == '{') {
      const size_t close = filter.find('}', i);
      if (close == std::string::npos) break;  // std::regex says what is wrong
      const std::string body = filter.substr(i + 1, close - i - 1);
      const size_t comma = body.find(',');
      for (const std::string& bound : {body.substr(0, comma), comma == std::string::npos ? "" : body.substr(comma + 1)}) {
        if (bound.find_first_not_of("0123456789") != std::string::npos) return "";  // std::regex says what is wrong
        if (bound.size() > 3 || (!bound.empty() && std::stol(bound) > kMaxFilterBound))
          return "a repetition bound {" + body.substr(0, 20) + "} over " + std::to_string(kMaxFilterBound);
      }
      quantifier = true;
      unbounded_q = comma != std::string::npos && comma + 1 == body.size();
      i = close;
    }
    if (quantifier) {
      if (after_group && group_inner)
        return "a repeated group that itself repeats or alternates, such as (a|b)* or (a+)+ (its matching time "
               "grows exponentially)";
      open.back().repeats_or_alternates = true;
      if (unbounded_q && ++unbounded > kMaxFilterRepeats)
        return "more than " + std::to_string(kMaxFilterRepeats) + " unbounded repetitions (*, +, {m,})";
    }
    after_group = false;
  }
  return "";
}

// Google Benchmark 1.7.1 takes values it cannot run with and only prints: a negative
// --benchmark_repetitions ends in "vector::reserve", a filter that is not a regular expression
// runs nothing and exits 0, an output file that cannot be written is found after the run.
// All are flag errors here, before anything runs.
void check_benchmark_flags(const RepetitionsFlag& reps, const BenchmarkOut& out) {
  // A value that is not an integer is left to Google Benchmark, which then reports the flag as unknown.
  if (reps.value && *reps.value < 1)
    throw std::invalid_argument(reps.given + ": expected a positive number of repetitions (1 or more)");
  if (!out.given.empty()) {
    if (out.format != "" && out.format != "json" && out.format != "console" && out.format != "csv")
      throw std::invalid_argument("--benchmark_out_format=" + out.format + ": expected json, console or csv");
    if (const std::string why = output_obstacle(out.path, /*folder_may_be_missing=*/false); !why.empty())
      throw std::invalid_argument(out.given + ": " + why);
  }
  std::string filter = benchmark::GetBenchmarkFilter();
  const std::string shown = filter.size() > 80 ? filter.substr(0, 80) + "..." : filter;
  if (!filter.empty() && filter[0] == '-') filter.erase(0, 1);  // a negative filter
  if (filter.empty() || filter == "all") return;
  // Note [Filters Google Benchmark can match]; the filter is checked before std::regex compiles it.
  if (const std::string why = filter_problem(filter); !why.empty())
    throw std::invalid_argument("--benchmark_filter=" + shown + ": " + why + " (see docs/fuzzing.md)");
  try {
    std::regex(filter, std::regex::extended);  // what Google Benchmark compiles it with
  } catch (const std::regex_error& e) {
    throw std::invalid_argument("--benchmark_filter=" + shown + ": not a regular expression (" + e.what() + ")");
  }
}

// The exit status once the run is done: 1 when standard output did not take everything
// (a full disk under --list-verdicts or --benchmark_list_tests), which would otherwise pass.
int finish(int status) {
  if (const std::string why = stdout_problem(); !why.empty()) {
    std::cerr << "mps_benchmarks: error: " << why << "\n";
    return status ? status : 1;
  }
  return status;
}

// Visits per case when the user gives no --benchmark_repetitions (sampling::kDeviceVisits): known
// before Google Benchmark parses its flags, so from --device alone (a bad value is parse_cli's).
int64_t default_visits(const std::vector<std::string>& args) {
  std::string device = "auto";
  for (const auto& a : args)
    if (a.rfind("--device=", 0) == 0) device = a.substr(9);
  if (device == "cpu") return 1;
  if (device == "cuda" || device == "mps") return sampling::kDeviceVisits;
  if (device != "auto") return 1;
  return select_device("auto").is_cpu() ? 1 : sampling::kDeviceVisits;
}

}  // namespace

OpChecker make_op_checker() {
  return [](const OpTarget& t) {
    std::vector<std::string> problems;
    // Another library's op (requires: torchvision): load its ops before checking the entry.
    if (!t.requires_lib.empty() && !find_schema(t.op)) load_ops_library(t.requires_lib);
    if (!find_schema(t.op)) {
      if (!t.requires_lib.empty()) return problems;  // reported as unavailable at run time
      const auto [name, overload] = split_overload(t.op);
      const auto known = overloads_of(name);
      if (known.empty()) {
        problems.push_back("unknown op '" + t.op + "': the dispatcher of this LibTorch has no '" + name +
                           "' (expected: an ATen name such as aten::isin.Tensor_Tensor; for another library's ops "
                           "add requires: <library>)");
      } else {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        problems.push_back("unknown overload '" + (overload.empty() ? std::string("(default)") : overload) + "' of " +
                           name + " (expected one of: " + list + ")");
      }
      return problems;
    }
    if (t.needs_fixture) return problems;
    if (t.args) {
      if (!find_op(kGenericFixture)) problems.push_back("args: given but the generic fixture is not built in");
      if (auto check_args = find_args_checker())
        for (auto& p : check_args(t, find_schema(t.op)->schema())) problems.push_back(p);
    } else if (!find_op(t.op)) {
      problems.push_back("op without fixture: no C++ trait is registered for '" + t.op +
                         "' and it has no args: spec (expected: an args: list, a trait in fixtures/, "
                         "or needs_fixture: true)");
    }
    for (const auto& e : t.emulate)
      if (!find_schema(e)) problems.push_back("emulate: unknown op '" + e + "'");
    return problems;
  };
}

size_t register_cases(const Targets& targets, const RunContext& ctx, std::deque<Case>& cases) {
  size_t n = 0;
  const std::string device = device_segment(ctx.device);
  for (const auto& t : targets.ops) {
    auto handle = find_schema(t.op);
    if (!handle && !t.requires_lib.empty() && load_ops_library(t.requires_lib).loaded) handle = find_schema(t.op);
    const OpCalls* calls = nullptr;
    std::string skip;
    if (!handle)
      skip = unavailable_reason(t.requires_lib, t.op);
    else if (t.needs_fixture)
      skip = "needs a fixture: " + t.op + " has no C++ trait or args: spec yet (docs/adding-an-op.md)";
    else
      calls = find_op(t.args ? kGenericFixture : t.op);
    for (const auto& shape : t.shapes) {
      for (const auto dtype : t.dtypes) {
        const std::string name = case_name(t.op, shape, dtype, device);
        // The row is registered either way, so a case that cannot run is visible in the report.
        const Case* c = nullptr;
        std::string skip_label;  // a row that cannot run still says what MPS does with its op
        if (calls) {
          cases.push_back(Case{&t, *handle, shape, dtype, &ctx});
          c = &cases.back();
        } else if (ctx.verdicts) {
          skip_label = label::format(verdict_fields(t.op, ctx.verdicts->judge(t.op, dtype_name(dtype), nullptr)));
        }
        benchmark::RegisterBenchmark(name.c_str(),
                                     [calls, c, skip, skip_label, state = new_case_state()](benchmark::State& s) {
                                       if (calls) {
                                         run_case(s, *c, *calls, *state);
                                       } else {
                                         s.SetLabel(skip_label);
                                         s.SkipWithError(skip.c_str());
                                       }
                                     })
            ->UseManualTime()
            ->Unit(benchmark::kMicrosecond);
        ++n;
      }
    }
  }
  return n;
}

int run_main(int argc, char** argv) {
  const std::vector<char*> original_argv(argv, argv + argc);
  try {
    // Our --help first: Google Benchmark's Initialize prints its own and exits.
    for (int i = 1; i < argc; ++i)
      if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") std::cout << cli_usage() << "\n";
    const std::vector<std::string> args(argv + 1, argv + argc);
    BenchmarkArgv gb(argc, argv, /*op_suite=*/!mentions_flag(args, "--workload"), default_visits(args));
    argc = gb.argc();
    argv = gb.argv();
    benchmark::Initialize(&argc, argv);
    const CliOptions o = parse_cli(std::vector<std::string>(argv + 1, argv + argc));
    if (o.help) return 0;
    if (o.list_contract) {
      std::cout << contract_json() << "\n";
      return 0;
    }
    if (const auto twice = duplicate_registrations(); !twice.empty())
      throw std::logic_error("ops registered twice with MPSFB_REGISTER_OP (one trait per op): " + join(twice, ", "));
    const std::string host_allocator = set_host_allocator(o.host_allocator);  // before the run's tensors
    check_benchmark_flags(gb.repetitions(), gb.out());
    reexec_with_mps_fallback_if_needed(o, original_argv);

    RunContext ctx;
    ctx.device = select_device(o.device);
    ctx.fallback = o.fallback == "emulate" ? FallbackMode::kEmulate : FallbackMode::kAuto;
    ctx.mps_build = has_mps_backend();
    ctx.emulate_all = o.emulate == "all";
    ctx.sampling = sampling_rule(o, gb.min_time(), gb.visits());
    if (!o.copy_model.empty()) ctx.copy = load_copy_model(o.copy_model);  // a bad file stops here
    if (ctx.fallback == FallbackMode::kEmulate && ctx.device.is_cpu() && !o.list_verdicts)
      throw std::invalid_argument("--fallback=emulate needs a device (cuda or mps); the selected device is cpu");
    if (ctx.emulate_all && ctx.fallback != FallbackMode::kEmulate)
      throw std::invalid_argument("--emulate=all needs --fallback=emulate");
    const verdicts::Book book = load_verdicts(o.verdicts, &ctx.native_functions);
    ctx.verdicts = &book;
    std::cerr << "mps_benchmarks: torch " << torch_version() << ", device " << ctx.device.str() << " ("
              << device_name(ctx.device) << ")" << (o.device == "auto" ? " [auto: mps, then cuda, then cpu]" : "")
              << ", fallback " << o.fallback << "\n";
    if (!o.verdicts.given().empty()) std::cerr << "mps_benchmarks: MPS verdicts: " << book.yaml_source() << "\n";
    if (ctx.device.is_cpu())
      std::cerr << "mps_benchmarks: no accelerator: measuring CPU baselines only (dev_us, penalty and the copy "
                   "counters need a device)\n";

    if (!o.workload.empty()) {
      if (!ctx.device.is_cpu() && ctx.fallback == FallbackMode::kEmulate)
        ensure_copy_from_and_resize(ctx.key());
      return finish(run_workload(o, ctx, [&] { return run_benchmarks(args, gb.out()); }));
    }

    std::string note;
    LoadOptions load;
    load.memory_budget_bytes = o.memory_budget_bytes();
    const Targets targets = load_targets(resolve_targets_path(o.targets, &note), load, make_op_checker());
    if (!note.empty()) std::cerr << "mps_benchmarks: " << note << "\n";
    if (o.list_verdicts) {
      print_verdicts(targets, ctx);
      return finish(0);
    }

    if (!ctx.device.is_cpu()) {
      if (o.copy_model.empty()) ctx.copy = measure_copy_model(ctx.device);
      if (ctx.emulating()) ensure_copy_from_and_resize(ctx.key());
    }
    add_context(ctx, targets);
    add_measurement_context(ctx, host_allocator);
    std::deque<Case> cases;
    const size_t n = register_cases(targets, ctx, cases);
    std::cerr << "mps_benchmarks: " << n << " cases from " << targets.ops.size() << " ops in " << targets.path
              << "\n";
    run_benchmarks(args, gb.out());
    release_case_inputs();
    benchmark::Shutdown();
    return finish(0);
  } catch (const TargetsError& e) {
    std::cerr << "mps_benchmarks: " << e.what();
  } catch (const std::exception& e) {
    std::cerr << "mps_benchmarks: error: " << e.what() << "\n";
  }
  return 2;
}

}  // namespace mpsfb
