// mpsfb_report: Google Benchmark JSON from mps_benchmarks -> results/<op>.csv and report/summary.md,
// or a comparison of two runs, or the local status file of a targets file. docs/reports.md.
#include "compare.h"
#include "demand.h"
#include "gbench_json.h"
#include "model.h"
#include "mps_log_report.h"
#include "output.h"
#include "paths.h"
#include "regular_file.h"
#include "report.h"
#include "status_file.h"
#include "text.h"
#include "torch_trace.h"
#include "trace_report.h"

#include "contract/verdict_source.h"

#include <c10/core/CPUAllocator.h>

#include <dlfcn.h>

#include "contract/verdict_source.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpsfb::report {
namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  mpsfb_report [--targets=FILE] [--coverage=FILE] [--results-dir=DIR] [--summary=FILE] [--cases-csv=FILE]\n"
    "               [--embed-plot=IMAGE]... RUN.json [RUN.json...]\n"
    "      results/<op>.csv per op, report/summary.md, report/cases.csv (all cases, for plots).\n"
    "      Several runs are merged; a case in a later file replaces the same case of an earlier one.\n"
    "      --targets: demand and links (default: the targets file named in the run, if it exists).\n"
    "      --embed-plot: an image for the summary to show, relative to the summary (repeatable).\n"
    "      --coverage: the coverage history, for \"native since\" and the newest release's verdict beside an older\n"
    "      verdict torch's (default: ops/mps_coverage.yaml, if there is one here; docs/coverage.md).\n"
    "  mpsfb_report --compare BASE.json CONTENDER.json\n"
    "      Markdown to stdout: verdict changes, fallback flips, per-case changes of cpu_us, dev_us, penalty.\n"
    "  mpsfb_report --update-targets TARGETS.yaml RUN.json [RUN.json...]\n"
    "      Records each op's status and MPS verdict here in TARGETS.status.yaml (TARGETS.yaml is not touched).\n"
    "  mpsfb_report --mps-log=FILE [--wall-s=SECONDS] [--targets=FILE]\n"
    "               [--verdict-torch=VERSION|latest | --torch-source=DIR | --native-functions=PATH --torch-version=V]\n"
    "               [--results-dir=DIR] [--summary=FILE] [--cases-csv=FILE]\n"
    "      The MPS profiler's CPU-fallback lines in a run's stderr (PYTORCH_MPS_LOG_PROFILE_INFO, tools/profile_run.sh)\n"
    "      -> the same files, ops ranked by fallback time; --wall-s: the run's wall time, for its fallback%;\n"
    "      --verdict-torch (a release, from the cache, fetched once with pip), --torch-source (a PyTorch\n"
    "      checkout) or --native-functions with --torch-version: that torch's static verdict beside the run-time one.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  enum class Mode { kReport, kCompare, kUpdateTargets, kMpsLog, kTorchTrace, kListContract } mode = Mode::kReport;
  std::vector<std::string> inputs;
  std::optional<std::string> targets;
  std::optional<std::string> coverage;  // --coverage
  std::string results_dir = "results";
  std::string summary = "report/summary.md";
  std::string cases_csv;  // default: cases.csv beside the summary
  std::vector<std::string> plots;
  std::string mps_log, torch_version;  // --mps-log mode
  verdicts::SourceFlags verdicts;       // --mps-log mode: the static verdicts' torch (contract/verdict_source.h)
  std::optional<double> wall_s;
  std::string torch_trace, copy_model = MPSFB_DEFAULT_COPY_MODEL, allow, emit_targets;  // --torch-trace mode
  std::set<std::string> fail_on = {verdict::kFallsBack};
  bool help = false;
};

double positive_seconds(const std::string& key, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v) || v <= 0)
    throw UsageError(key + "=" + value + ": expected a positive number of seconds (e.g. 12.5)");
  return v;
}

// --fail-on=falls-back,unsupported-dtype,unknown -> verdict tokens
std::set<std::string> fail_on_classes(const std::string& value) {
  const std::map<std::string, std::string> kClasses = {{"falls-back", verdict::kFallsBack},
                                                       {"unsupported-dtype", verdict::kUnsupportedDtype},
                                                       {"unknown", verdict::kUnknown}};
  std::set<std::string> out;
  for (const auto& c : split(value, ",")) {
    const auto it = kClasses.find(c);
    if (it == kClasses.end())
      throw UsageError("--fail-on=" + value + ": '" + c + "' is not one of falls-back, unsupported-dtype, unknown");
    out.insert(it->second);
  }
  return out;
}

Args parse_args(const std::vector<std::string>& argv) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      a.help = true;
    } else if (arg == "--compare") {
      a.mode = Args::Mode::kCompare;
    } else if (arg == "--update-targets") {
      a.mode = Args::Mode::kUpdateTargets;
    } else if (arg == "--list-contract") {
      a.mode = Args::Mode::kListContract;
    } else if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      const size_t eq = arg.find('=');
      const std::string key = arg.substr(0, eq);
      std::string value;
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        throw UsageError(key + " needs a value");
      }
      const bool is_path = key == "--targets" || key == "--results-dir" || key == "--summary" || key == "--cases-csv" ||
                           key == "--mps-log" || key == "--native-functions" || key == "--torch-source" ||
                           key == "--embed-plot";
      if (is_path && value.empty()) throw UsageError(key + "= needs a path (empty: would write or read in '.')");
      if (key == "--targets")
        a.targets = value;
      else if (key == "--coverage")
        a.coverage = value;
      else if (key == "--results-dir")
        a.results_dir = value;
      else if (key == "--summary")
        a.summary = value;
      else if (key == "--cases-csv")
        a.cases_csv = value;
      else if (key == "--embed-plot")
        a.plots.push_back(value);
      else if (key == "--mps-log")
        a.mode = Args::Mode::kMpsLog, a.mps_log = value;
      else if (key == "--wall-s")
        a.wall_s = positive_seconds(key, value);
      else if (verdicts::take_source_flag(key, value, a.verdicts))
        continue;  // --verdict-torch, --torch-source, --native-functions
      else if (key == "--torch-version")
        a.torch_version = value;
      else if (key == "--torch-trace")
        a.mode = Args::Mode::kTorchTrace, a.torch_trace = value;
      else if (key == "--copy-model")
        a.copy_model = value;
      else if (key == "--allow")
        a.allow = value;
      else if (key == "--emit-targets")
        a.emit_targets = value;
      else if (key == "--fail-on")
        a.fail_on = fail_on_classes(value);
      else
        throw UsageError("unknown option " + key);
    } else {
      a.inputs.push_back(arg);
    }
  }
  if (a.help) return a;
  if (a.mode == Args::Mode::kCompare && a.inputs.size() != 2)
    throw UsageError("--compare takes two JSON files, BASE and CONTENDER");
  if (a.mode == Args::Mode::kUpdateTargets && a.inputs.size() < 2)
    throw UsageError("--update-targets takes the targets file and at least one run JSON");
  if (a.mode == Args::Mode::kReport && a.inputs.empty()) throw UsageError("no benchmark JSON given");
  if (a.mode == Args::Mode::kMpsLog && !a.inputs.empty())
    throw UsageError("--mps-log reads one log; unexpected " + a.inputs.front());
  if (a.mode == Args::Mode::kListContract && !a.inputs.empty())
    throw UsageError("--list-contract takes no input; unexpected " + a.inputs.front());
  if (a.mode == Args::Mode::kTorchTrace && !a.inputs.empty())
    throw UsageError("--torch-trace reads one trace; unexpected " + a.inputs.front());
  if (a.mode != Args::Mode::kTorchTrace && a.verdicts.native_functions.empty() != a.torch_version.empty())
    throw UsageError("--native-functions and --torch-version go together (the yaml, and the torch it is from; "
                     "--verdict-torch and --torch-source know their torch)");
  if (!a.verdicts.given().empty() && a.mode != Args::Mode::kMpsLog && a.mode != Args::Mode::kTorchTrace)
    throw UsageError(a.verdicts.given() + " is for --mps-log and --torch-trace: a benchmark JSON carries the verdicts "
                     "its run judged (run mps_benchmarks with " + a.verdicts.given() + ")");
  if (a.cases_csv.empty()) {
    const auto dir = std::filesystem::path(a.summary).parent_path();
    a.cases_csv = (dir / "cases.csv").string();
  }
  return a;
}

Model load(const std::vector<std::string>& paths) {
  std::vector<Run> runs;
  for (const auto& p : paths) runs.push_back(read_run(p));
  Model m = build_model(runs);
  for (const auto& row : m.ignored) std::cerr << "mpsfb_report: ignored (not an op: or workload: case): " << row << "\n";
  return m;
}

// An explicit --targets must exist; the run's own targets file is used only if it still does.
std::optional<TargetsDemand> demand_for(const Args& a, const Model& m) {
  if (a.targets) return read_demand(*a.targets);
  const std::string from_run = m.ctx(context::kTargets);
  if (!from_run.empty() && std::filesystem::exists(from_run)) {
    std::cerr << "mpsfb_report: demand from " << from_run << " (the run's targets file)\n";
    return read_demand(from_run);
  }
  std::cerr << "mpsfb_report: no targets file (pass --targets=ops/targets.yaml): votes and links unknown\n";
  return std::nullopt;
}

// An explicit --coverage must load; the default one is used when it exists here.
std::optional<coverage::Coverage> coverage_for(const Args& a) {
  if (a.coverage) return coverage::load_coverage(*a.coverage);
  const std::string implicit = "ops/mps_coverage.yaml";
  if (std::error_code ec; !std::filesystem::exists(implicit, ec)) return std::nullopt;
  return coverage::load_coverage(implicit);
}

int report(const Args& a) {
  const Model m = load(a.inputs);
  const auto demand = demand_for(a, m);
  const auto history = coverage_for(a);
  if (m.cases.empty() && m.workloads.empty())
    throw std::runtime_error(a.inputs.front() + ": no op: or workload: cases in the input (is it mps_benchmarks output?)");

  // Everything is built before anything is written (OutputSet).
  OutputSet out;
  add_case_tables(out, m, a.results_dir, a.cases_csv);
  SummaryOptions options;
  options.demand = demand ? &*demand : nullptr;
  options.plots = a.plots;
  options.coverage = history ? &*history : nullptr;
  add_report(out, summary_report(m, options), a.summary, std::filesystem::path(a.cases_csv).parent_path().string());
  out.commit();
  std::cerr << "mpsfb_report: " << m.cases.size() << " cases of " << m.ops().size() << " ops -> " << a.results_dir
            << "/, " << a.summary << "\n";
  return 0;
}

int mps_log_report(const Args& a) {
  const mps_log::Log log = mps_log::read(a.mps_log);
  const std::optional<TargetsDemand> demand = a.targets ? std::optional<TargetsDemand>(read_demand(*a.targets)) : std::nullopt;
  std::optional<StaticVerdicts> sv;
  if (!a.verdicts.given().empty()) {
    // The report links no torch: without a usable source there is no static column.
    std::string path;
    verdicts::Book book = verdicts::load_book(
        a.verdicts, {a.torch_version, {}, {}},
        {MPSFB_PYTHON, std::string(MPSFB_SOURCE_DIR) + "/tools/fetch_torch_files.py"}, "mpsfb_report", &path);
    if (book.has_yaml()) sv = static_verdicts_of(std::move(book), path);
  }
  LogReportOptions options;
  options.demand = demand ? &*demand : nullptr;
  options.wall_s = a.wall_s;
  options.static_verdicts = sv ? &*sv : nullptr;
  options.results_dir = a.results_dir;
  options.summary = a.summary;
  options.cases_csv = a.cases_csv;
  OutputSet out;
  const std::string what = add_log_report(out, log, options);
  out.commit();
  std::cerr << "mpsfb_report: " << a.mps_log << ": " << what << " -> " << a.summary << "\n";
  return 0;
}

// The linked torch, for the verdict source: the torch whose libc10 this binary links, its
// native_functions.yaml beside it and its version from torch/version.py.
verdicts::Linked linked_torch() {
  verdicts::Linked l;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&c10::GetCPUAllocator), &info) == 0 || !info.dli_fname) {
    l.why_none = "the linked libc10 cannot be located";
    return l;
  }
  const auto lib = std::filesystem::path(info.dli_fname).parent_path();
  l.yaml = verdicts::find_native_functions(lib.string());
  std::ifstream py(lib.parent_path() / "version.py");
  for (std::string line; std::getline(py, line);)
    if (line.rfind("__version__", 0) == 0) {
      const size_t q = line.find_first_of("'\""), e = line.find_last_of("'\"");
      if (q != std::string::npos && e > q) l.torch_version = line.substr(q + 1, e - q - 1);
    }
  if (l.yaml.empty()) l.why_none = "no native_functions.yaml beside " + lib.string();
  return l;
}

// The trace's verdicts come from the shared verdict source (contract/verdict_source.h), as the
// other binaries': --verdict-torch, --native-functions, --torch-source, else the linked torch.
verdicts::Book trace_book(const Args& a) {
  std::string context_value;
  return verdicts::load_book(a.verdicts, linked_torch(),
                             {MPSFB_PYTHON, std::string(MPSFB_SOURCE_DIR) + "/tools/fetch_torch_files.py"},
                             "mpsfb_report", &context_value);
}

int torch_trace_report(const Args& a) {
  const torch_trace::Trace trace = torch_trace::read(a.torch_trace);
  TraceReportOptions options;
  const verdicts::Book book = trace_book(a);
  options.verdict_source = book.yaml_source();
  options.book = &book;
  options.copy = copy_model::load(a.copy_model);
  std::optional<AllowList> allow;
  if (!a.allow.empty()) allow = read_allow_list(a.allow);
  options.allow = allow ? &*allow : nullptr;
  options.fail_on = a.fail_on;
  options.emit_targets = a.emit_targets;
  options.results_dir = a.results_dir;
  options.summary = a.summary;
  options.cases_csv = a.cases_csv;
  options.ops_csv = (std::filesystem::path(a.cases_csv).parent_path() / "trace_ops.csv").string();
  const char* gha = std::getenv("GITHUB_ACTIONS");
  options.github = gha && std::string(gha) == "true";
  OutputSet out;
  const TraceReport r = add_trace_report(out, trace, options);
  out.commit();
  for (const auto& line : r.annotations) std::cout << line << "\n";
  for (const auto& line : r.gate_lines) std::cerr << "mpsfb_report: " << line << "\n";
  std::cerr << "mpsfb_report: " << a.torch_trace << ": " << r.headline << " -> " << a.summary << "\n";
  return r.gate_failed ? 1 : 0;
}

int compare(const Args& a) {
  const Model base = load({a.inputs[0]});
  const Model contender = load({a.inputs[1]});
  std::cout << compare_markdown(base, contender);
  return 0;
}

int update_targets(const Args& a) {
  const TargetsDemand targets = read_demand(a.inputs[0]);
  const Model run = load(std::vector<std::string>(a.inputs.begin() + 1, a.inputs.end()));
  const std::string path = status_path_for(a.inputs[0]);
  std::string existing;
  if (std::error_code ec; std::filesystem::exists(path, ec)) existing = read_regular_file(path, "the status file");
  std::vector<std::string> notes;
  const std::string text = updated_status(existing, path, targets, run, &notes);
  for (const auto& n : notes) std::cerr << "mpsfb_report: " << n << "\n";
  write_atomically(path, text, /*replaces_input=*/true);  // the status file read above
  std::cerr << "mpsfb_report: wrote " << path << "\n";
  return 0;
}

}  // namespace
}  // namespace mpsfb::report

int main(int argc, char** argv) {
  using namespace mpsfb::report;
  try {
    const Args a = parse_args(std::vector<std::string>(argv + 1, argv + argc));
    if (a.help) {
      std::cout << kUsage;
      return 0;
    }
    switch (a.mode) {
      case Args::Mode::kCompare:
        // The comparison is standard output: one that did not take it (a full disk) is an error.
        if (const int rc = compare(a); rc != 0) return rc;
        if (const std::string why = mpsfb::stdout_problem(); !why.empty()) throw std::runtime_error(why);
        return 0;
      case Args::Mode::kUpdateTargets:
        return update_targets(a);
      case Args::Mode::kReport:
        return report(a);
      case Args::Mode::kMpsLog:
        return mps_log_report(a);
      case Args::Mode::kTorchTrace:
        return torch_trace_report(a);
      case Args::Mode::kListContract:
        std::cout << mpsfb::contract_json() << "\n";
        return 0;
    }
  } catch (const UsageError& e) {
    std::cerr << "mpsfb_report: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mpsfb_report: error: " << e.what() << "\n";
  }
  return 1;
}
