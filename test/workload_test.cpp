// Workload fallback%: --input parsing, which ops get emulated, the attribution model on CPU
// with test ops of known duration, the tiny and TorchScript workloads end to end, bad
// --workload arguments, and on CUDA (skipped without it) an emulated op's share against the
// op timed alone.
//
// The TorchScript module is test/data/tiny_model.pt, committed; test/data/make_tiny_model.py
// (run with the project venv's Python) writes it again.
#include "attribution.h"
#include "device.h"
#include "fallback.h"
#include "paths.h"
#include "run_binary.h"
#include "stats.h"
#include "workload.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/library.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <thread>

namespace mpsfb {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---- Test ops -------------------------------------------------------------------------
// `sleep_fallback` moves its input with at::_to_cpu, as cpu_fallback does, and sleeps `ms`
// around it; `sleep_clean` and `sleep_routed` only sleep (a test routes the latter through
// cpu_fallback with an EmulationScope); `outer_clean` sleeps then calls sleep_fallback;
// `outer_fallback` falls back itself and calls sleep_fallback inside; `warns_fallback` only
// emits the MPS fallback warning. Each adds the time it measured inside itself to g_fallback_us
// (fallback ops) or g_clean_us, so a test can bracket the share charged (Measured).
double g_fallback_us = 0, g_clean_us = 0;

void sleep_ms(int64_t ms) { std::this_thread::sleep_for(std::chrono::microseconds(ms * 1000)); }
double us_since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

at::Tensor call(const char* name, const at::Tensor& x, int64_t ms) {
  return c10::Dispatcher::singleton()
      .findSchemaOrThrow(name, "")
      .typed<at::Tensor(const at::Tensor&, int64_t)>()
      .call(x, ms);
}

at::Tensor sleep_fallback(const at::Tensor& x, int64_t ms) {
  const auto t0 = Clock::now();
  sleep_ms(ms / 2);
  auto y = at::_to_cpu({x})[0];
  sleep_ms(ms - ms / 2);
  g_fallback_us += us_since(t0);
  return y;
}
at::Tensor sleep_clean(const at::Tensor& x, int64_t ms) {
  const auto t0 = Clock::now();
  sleep_ms(ms);
  g_clean_us += us_since(t0);
  return x;
}
at::Tensor outer_clean(const at::Tensor& x, int64_t ms) {
  const auto t0 = Clock::now();
  sleep_ms(ms);
  g_clean_us += us_since(t0);
  return call("mpsfb_wl_test::sleep_fallback", x, ms);
}
at::Tensor outer_fallback(const at::Tensor& x, int64_t ms) {
  auto y = at::_to_cpu({x})[0];
  return call("mpsfb_wl_test::sleep_fallback", y, ms);
}
at::Tensor warns_fallback(const at::Tensor& x, int64_t ms) {
  TORCH_WARN("The operator 'aten::lcm.out' is not currently supported on the MPS backend and will fall back to run ",
             "on the CPU. This may have performance implications.");
  sleep_ms(ms);
  return x;
}

at::Tensor sleep_routed(const at::Tensor& x, int64_t ms) {
  const auto t0 = Clock::now();
  sleep_ms(ms);
  g_fallback_us += us_since(t0);
  return x + 0;
}

TORCH_LIBRARY(mpsfb_wl_test, m) {
  m.def("sleep_fallback(Tensor x, int ms) -> Tensor");
  m.def("sleep_clean(Tensor x, int ms) -> Tensor");
  m.def("sleep_routed(Tensor x, int ms) -> Tensor");
  m.def("outer_clean(Tensor x, int ms) -> Tensor");
  m.def("outer_fallback(Tensor x, int ms) -> Tensor");
  m.def("warns_fallback(Tensor x, int ms) -> Tensor");
}
TORCH_LIBRARY_IMPL(mpsfb_wl_test, CPU, m) {
  m.impl("sleep_fallback", sleep_fallback);
  m.impl("sleep_clean", sleep_clean);
  m.impl("sleep_routed", sleep_routed);
  m.impl("outer_clean", outer_clean);
  m.impl("outer_fallback", outer_fallback);
  m.impl("warns_fallback", warns_fallback);
}

const c10::Device kCpu(c10::kCPU);

// ---- --input ---------------------------------------------------------------------------

TEST(Inputs, ShapesAndDtypesInTheTargetsFormat) {
  const auto in = parse_inputs("1x3x224x224:f32,8:i64,scalar:bool,4x4,2:float16");
  ASSERT_EQ(in.size(), 5u);
  EXPECT_EQ(in[0].shape, (std::vector<int64_t>{1, 3, 224, 224}));
  EXPECT_EQ(in[0].dtype, at::kFloat);
  EXPECT_EQ(in[1].dtype, at::kLong);
  EXPECT_TRUE(in[2].shape.empty());
  EXPECT_EQ(in[2].dtype, at::kBool);
  EXPECT_EQ(in[3].dtype, at::kFloat) << "no dtype means f32";
  EXPECT_EQ(in[4].dtype, at::kHalf) << "aliases from the dtype table";
  EXPECT_EQ(in[0].str(), "1x3x224x224:f32");
}

void expect_invalid(const std::string& text, const std::string& part) {
  try {
    parse_inputs(text, int64_t{1} << 30);
    ADD_FAILURE() << text << " was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Inputs, BadSyntaxNamesThePartAndTheExpectedForm) {
  expect_invalid("1x3xfoo:f32", "bad shape '1x3xfoo' in '1x3xfoo:f32' (expected sizes joined by x");
  expect_invalid("1x3x16x16:f99", "unknown dtype 'f99' in '1x3x16x16:f99' (expected one of: f32, f16");
  expect_invalid("1x3:f32,,2:f32", "an empty input between commas");
  expect_invalid("1x3:f32,", "a trailing comma");
  expect_invalid("-1x3:f32", "bad shape '-1x3'");
  expect_invalid("", "--input is empty");
  expect_invalid("99999999999999999999:f32",
                 "size '99999999999999999999' in shape '99999999999999999999' does not fit int64 (allowed: 0 to "
                 "9223372036854775807)");
  expect_invalid("65536x65536:f32", "over --memory_budget_mb=1024");
  // Sizes whose product overflows int64, and a long shape that a regex matcher recursed on.
  expect_invalid("4294967296x4294967296x4:f32", "needs more than 8 EiB, over --memory_budget_mb=1024");
  std::string long_shape = "1";
  for (int i = 0; i < 12000; ++i) long_shape += "x1";
  expect_invalid(long_shape + ":f32", "has more than 64 dimensions");
}

// ---- which ops are emulated -----------------------------------------------------------

TEST(Emulation, OpsOfTargetEntriesThatTheWorkloadRuns) {
  std::vector<OpTarget> targets(4);
  targets[0].op = "aten::isin.Tensor_Tensor";
  targets[1].op = "aten::upsample_bicubic2d.out";  // the workload runs the functional form only
  targets[2].op = "aten::linalg_eigvals";
  targets[2].emulate = {"aten::_linalg_eigvals", "aten::linalg_eig"};
  targets[3].op = "aten::cumsum";
  const std::vector<std::string> seen = {"aten::conv2d", "aten::cumsum", "aten::isin.Tensor_Tensor",
                                         "aten::linalg_eigvals", "aten::_linalg_eigvals", "aten::upsample_bicubic2d"};
  EXPECT_EQ(select_emulated_ops(targets, seen),
            (std::vector<std::string>{"aten::_linalg_eigvals", "aten::cumsum", "aten::isin.Tensor_Tensor"}))
      << "an entry's emulate: list replaces its op; only ops the workload ran are emulated";
  EXPECT_TRUE(select_emulated_ops(targets, {"aten::conv2d"}).empty());
}

// ---- the attribution model on CPU, with ops of known duration --------------------------

// What the ops of a pass measured inside themselves brackets what the observer may charge to
// fallbacks: at least the fallback ops' own time (each span holds its op's time), at most the
// pass less the clean ops' own time (no fallback span holds any of it). The gap between the
// two is the observer's own cost and the scheduler's, so the bracket widens on a loaded
// machine, as the true share moves with the sleeps' overshoot, but an attribution outside it is
// wrong on any machine: a missed fallback falls below it, a clean op charged lies above it.
struct Measured {
  AttributionTotals totals;
  double fallback_us = 0, clean_us = 0, pass_us = 0;  // sums over the passes
  double min_pct() const { return 100.0 * fallback_us / pass_us; }
  double max_pct() const { return 100.0 * (pass_us - clean_us) / pass_us; }

  void add(const ObservedPass& p) {
    totals.add(p);
    fallback_us += g_fallback_us;
    clean_us += g_clean_us;
    pass_us += p.pass_us;
  }
};

Measured observe(const std::function<void()>& pass, Observation how = Observation::kRecordFunction, int passes = 3) {
  Measured m;
  for (int i = 0; i < passes; ++i) {
    g_fallback_us = g_clean_us = 0;
    m.add(observe_pass(kCpu, pass, how));
  }
  return m;
}

// Time sums in doubles: a bound may be missed by rounding, never by more.
constexpr double kRoundingPct = 1e-6;

void expect_bracketed(const Measured& m, const std::string& how) {
  const double pct = m.totals.fallback_pct();
  EXPECT_GE(pct, m.min_pct() - kRoundingPct) << how << ": less than the fallback ops' own time";
  EXPECT_LE(pct, m.max_pct() + kRoundingPct) << how << ": more than the pass less the clean ops' own time";
  std::cout << "[ info ] " << how << ": fallback " << pct << "% of the pass, within [" << m.min_pct() << "%, "
            << m.max_pct() << "%]\n";
}

TEST(Attribution, FallbackShareOfTimeIsTheFallbackOpsShare) {
  const auto x = at::ones({4});
  const auto m = observe([&] {
    call("mpsfb_wl_test::sleep_fallback", x, 30);
    call("mpsfb_wl_test::sleep_clean", x, 10);
  });
  expect_bracketed(m, "30 ms fallback, 10 ms clean");
  EXPECT_DOUBLE_EQ(m.totals.fallback_calls_pct(), 50.0);
  EXPECT_DOUBLE_EQ(m.totals.total_ops(), 2.0);
  EXPECT_DOUBLE_EQ(m.totals.fallbacks_per_pass(), 1.0);
  const auto by_op = m.totals.by_op();
  ASSERT_EQ(by_op.size(), 1u);
  EXPECT_EQ(by_op[0].first, "mpsfb_wl_test::sleep_fallback");
  EXPECT_DOUBLE_EQ(by_op[0].second, m.totals.fallback_pct());
  const std::string label = m.totals.top_fallback(5), head = "mpsfb_wl_test::sleep_fallback:";
  ASSERT_EQ(label.rfind(head, 0), 0u) << label;
  ASSERT_EQ(label.back(), '%') << label;
  EXPECT_NEAR(std::stod(label.substr(head.size())), by_op[0].second, 0.05) << label << ": the share, one decimal";
}

TEST(Attribution, OnlyTheInnerOpThatFellBackIsChargedNotItsCaller) {
  const auto x = at::ones({4});
  const auto m = observe([&] { call("mpsfb_wl_test::outer_clean", x, 20); });
  expect_bracketed(m, "20 ms of the caller's own, 20 ms in the inner fallback");
  EXPECT_DOUBLE_EQ(m.totals.fallback_calls_pct(), 100.0) << "the one top-level call held a fallback";
  EXPECT_DOUBLE_EQ(m.totals.total_ops(), 1.0);
  ASSERT_EQ(m.totals.by_op().size(), 1u);
  EXPECT_EQ(m.totals.by_op().at(0).first, "mpsfb_wl_test::sleep_fallback");
}

TEST(Attribution, AFallbackInsideAFallbackIsCountedOnce) {
  const auto x = at::ones({4});
  const auto p = observe_pass(kCpu, [&] { call("mpsfb_wl_test::outer_fallback", x, 20); });
  ASSERT_EQ(p.timeline.fallbacks.size(), 1u);
  EXPECT_EQ(p.timeline.fallbacks[0].op, "mpsfb_wl_test::outer_fallback");
  EXPECT_LE(p.timeline.fallbacks[0].us, p.pass_us);
}

TEST(Attribution, TheMpsFallbackWarningMarksTheOpToo) {
  const auto x = at::ones({4});
  const auto p = observe_pass(kCpu, [&] {
    call("mpsfb_wl_test::warns_fallback", x, 10);
    call("mpsfb_wl_test::sleep_clean", x, 10);
  });
  ASSERT_EQ(p.timeline.fallbacks.size(), 1u);
  EXPECT_EQ(p.timeline.fallbacks[0].op, "mpsfb_wl_test::warns_fallback");
  EXPECT_EQ(p.timeline.top_level_fallback_calls, 1);
}

// The timed passes of the benchmark: no RecordFunction, only the fallbacks that EmulationScope
// kernels run. On CPU the scope is put at AutogradCPU, which runs before the CPU kernel that
// cpu_fallback redispatches to, so the test op really goes through cpu_fallback.
TEST(Attribution, FallbackKernelsAloneGiveTheSameShareWithoutTouchingOtherOps) {
  EmulationScope scope({"mpsfb_wl_test::sleep_routed"}, c10::DispatchKey::AutogradCPU);
  const auto x = at::ones({4});
  const auto pass = [&] {
    call("mpsfb_wl_test::sleep_routed", x, 30);
    call("mpsfb_wl_test::sleep_clean", x, 10);
  };
  Measured kernels;
  for (int i = 0; i < 3; ++i) {
    g_fallback_us = g_clean_us = 0;
    const auto p = observe_pass(kCpu, pass, Observation::kFallbackKernels);
    ASSERT_EQ(p.timeline.fallbacks.size(), 1u);
    EXPECT_EQ(p.timeline.fallbacks[0].op, "mpsfb_wl_test::sleep_routed");
    EXPECT_EQ(p.timeline.top_level_calls, 0) << "this way counts no ops";
    kernels.add(p);
  }
  expect_bracketed(kernels, "fallback kernels");
  const auto rf = observe(pass);
  expect_bracketed(rf, "RecordFunction, which sees the routed op fall back (its _to_cpu)");
  EXPECT_DOUBLE_EQ(rf.totals.fallbacks_per_pass(), kernels.totals.fallbacks_per_pass());
  EXPECT_EQ(rf.totals.by_op().at(0).first, kernels.totals.by_op().at(0).first);
}

// The drain stands in for device work queued before the fallback: its time is taken off the
// fallback's span (it belongs to the ops that queued it) but stays in the pass. Bounds, not
// nominal times: the drain is at least what it measured inside itself, the span less the drain
// at least the op's own time less the drain and at least the op's two 10 ms sleeps (a sleep
// can only overshoot), and at most the call less the drain.
TEST(Attribution, TimeTheDrainWaitsIsNotChargedToTheFallback) {
  double drained_us = 0;
  ObserverOptions options;
  options.timeline = true;
  options.drain = [&drained_us] {
    const auto t0 = Clock::now();
    sleep_ms(15);
    drained_us += us_since(t0);
  };
  FallbackObserver observer(std::move(options));
  g_fallback_us = 0;
  const auto t0 = Clock::now();
  call("mpsfb_wl_test::sleep_fallback", at::ones({4}), 20);
  const double call_us = us_since(t0);
  const auto t = observer.take_timeline();
  ASSERT_EQ(t.fallbacks.size(), 1u);
  const auto& f = t.fallbacks[0];
  EXPECT_GE(f.drain_us, drained_us) << "the drain's own time";
  EXPECT_GE(f.us, g_fallback_us - f.drain_us) << "the op's time as it measured it, less the drain";
  EXPECT_GE(f.us, 20e3) << "the op's sleeps";
  EXPECT_LE(f.us, call_us - f.drain_us) << "the drain is not charged to the fallback";
  EXPECT_TRUE(observer.take_timeline().fallbacks.empty()) << "take_timeline starts a new one";
}

TEST(Attribution, NothingFallsBackOnCpuInTheTinyWorkload) {
  const auto w = make_tiny_workload(kCpu);
  w.pass();
  AttributionTotals totals;
  for (int i = 0; i < 3; ++i) totals.add(observe_pass(kCpu, w.pass));
  EXPECT_EQ(totals.fallback_pct(), 0.0);
  EXPECT_EQ(totals.fallback_calls_pct(), 0.0);
  EXPECT_GE(totals.total_ops(), 20.0);
  EXPECT_EQ(totals.top_fallback(5), "");
}

TEST(Attribution, TheTinyWorkloadRunsTheOpsItNames) {
  const auto w = make_tiny_workload(kCpu);
  ObserverOptions options;
  options.collect_ops = true;
  FallbackObserver observer(std::move(options));
  w.pass();
  const auto seen = observer.seen_ops();
  for (const char* op : {"aten::conv2d", "aten::batch_norm", "aten::relu", "aten::roll", "aten::group_norm",
                         "aten::gelu", "aten::max_pool2d", "aten::upsample_bicubic2d", "aten::grid_sampler",
                         "aten::avg_pool2d", "aten::embedding", "aten::cumsum", "aten::isin.Tensor_Tensor",
                         "aten::index_copy"})
    EXPECT_NE(std::find(seen.begin(), seen.end(), op), seen.end()) << op;
}

// ---- mps_benchmarks end to end ---------------------------------------------------------

using testing::Run;
Run run(const std::string& args) { return testing::run_mps_benchmarks(args); }
std::string data(const char* name) { return testing::data_path(name); }
fs::path temp_json(const char* name) { return testing::fresh_temp_path(std::string("mpsfb_workload_") + name + ".json"); }

// The one benchmark row of a --benchmark_out JSON file, read with regexes: the workload row's
// keys occur nowhere else in the file. (No JSON library: the test links what every test links.)
struct Row {
  std::string text;
  bool has(const std::string& key) const { return text.find("\"" + key + "\": ") != std::string::npos; }
  double number(const std::string& key) const {
    std::smatch m;
    const std::regex re("\"" + key + "\": ([-+0-9.eE]+|nan|inf)");
    if (!std::regex_search(text, m, re)) throw std::runtime_error("no number " + key + " in " + text);
    return std::stod(m[1].str());
  }
  std::string string(const std::string& key) const {
    std::smatch m;
    const std::regex re("\"" + key + "\": \"([^\"]*)\"");
    if (!std::regex_search(text, m, re)) throw std::runtime_error("no string " + key + " in " + text);
    return m[1].str();
  }
};

Row only_row(const fs::path& out) {
  std::ifstream in(out);
  std::stringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  const auto start = text.find("\"benchmarks\": [");
  EXPECT_NE(start, std::string::npos) << text;
  Row row{start == std::string::npos ? text : text.substr(start)};
  size_t names = 0;
  for (size_t at = row.text.find("\"name\": "); at != std::string::npos; at = row.text.find("\"name\": ", at + 1)) ++names;
  EXPECT_EQ(names, 1u) << row.text;
  return row;
}

void expect_workload_counters(const Row& row) {
  for (const char* key : {"fallback_pct", "fallback_calls_pct", "total_ops", "wall_us", "observed_us",
                          "attribution_overhead_pct", "fallback_us", "rf_fallback_pct", "rf_overhead_pct"})
    EXPECT_TRUE(row.has(key)) << key << " in " << row.text;
  EXPECT_GT(row.number("wall_us"), 0);
  EXPECT_GT(row.number("total_ops"), 0);
}

TEST(WorkloadEndToEnd, TinyOnCpuHasNoFallback) {
  const auto out = temp_json("tiny_cpu");
  const auto r = run("--device=cpu --workload=tiny --benchmark_min_time=0.05 --benchmark_out_format=json "
                     "--benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto row = only_row(out);
  EXPECT_EQ(row.string("name"), "workload:tiny/device:cpu/manual_time");
  expect_workload_counters(row);
  EXPECT_EQ(row.number("fallback_pct"), 0);
  EXPECT_EQ(row.number("fallback_calls_pct"), 0);
  EXPECT_EQ(row.string("label"), "top_fallback=");
}

TEST(WorkloadEndToEnd, TorchScriptModuleLoadsAndRuns) {
  const auto out = temp_json("model_cpu");
  const auto r = run("--device=cpu --workload=" + data("tiny_model.pt") +
                     " --input=1x3x16x16:f32 --benchmark_min_time=0.05 --benchmark_out_format=json --benchmark_out=" +
                     out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto row = only_row(out);
  EXPECT_EQ(row.string("name"), "workload:tiny_model.pt/device:cpu/manual_time");
  expect_workload_counters(row);
  EXPECT_EQ(row.number("fallback_pct"), 0);
}

void expect_clean_failure(const std::string& args, const std::string& message) {
  const auto out = temp_json("bad");
  const auto r = run("--device=cpu " + args + " --benchmark_out=" + out.string());
  EXPECT_EQ(r.rc, 2) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  EXPECT_EQ(r.output.find("Benchmark "), std::string::npos) << "no benchmark may run:\n" << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST(WorkloadEndToEnd, BadWorkloadArgumentsFailCleanly) {
  expect_clean_failure("--workload=/no/such/model.pt --input=1x3:f32", "--workload=/no/such/model.pt: no such file");
  expect_clean_failure("--workload=" + data("e2e.yaml") + " --input=1x3:f32",
                       "--workload=" + data("e2e.yaml") + ": not a TorchScript module");
  expect_clean_failure("--workload=" + data("tiny_model.pt") + " --input=1x5x16x16:f32",
                       "forward(1x5x16x16:f32) failed: RuntimeError: Given groups=1");
  expect_clean_failure("--workload=" + data("tiny_model.pt") + " --input=1x3xfoo:f32", "bad shape '1x3xfoo'");
  expect_clean_failure("--workload=" + data("tiny_model.pt") + " --input=1x3x16x16:f99", "unknown dtype 'f99'");
  expect_clean_failure("--workload=" + data("tiny_model.pt"), "a TorchScript workload needs its inputs: --input=");
  expect_clean_failure("--workload=tiny --input=1x3:f32", "--workload=tiny makes its own inputs");
}

// A FIFO as the model blocked torch::jit::load for ever; read as every input file is now.
TEST(WorkloadEndToEnd, AFifoAsTheModelIsRefusedWithoutBlocking) {
  const auto fifo = fs::temp_directory_path() / ("mpsfb_workload_fifo_" + std::to_string(::getpid()) + ".pt");
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_clean_failure("--workload=" + fifo.string() + " --input=1x3:f32",
                       "--workload=" + fifo.string() + ": the TorchScript workload is not a regular file (a FIFO");
  EXPECT_EQ(::unlink(fifo.c_str()), 0);
}

// The model's own text in its error: a 64K-character line overflowed std::regex (SIGSEGV).
TEST(WorkloadErrors, TheErrorLineIsFoundInAMessageWithLongLines) {
  const std::string line(65536, 'x');
  // A line of 64K name characters at a line start: what std::regex recursed through.
  EXPECT_EQ(script_error("Traceback of TorchScript:\n" + line + "\nbuiltins.ValueError: " + line + "\n"),
            "builtins.ValueError: " + line + "\n");
  EXPECT_EQ(script_error("RuntimeError: a\nsome.pkg.CustomException: b"), "some.pkg.CustomException: b");
  EXPECT_EQ(script_error(line), line);  // no error line: the whole message
  EXPECT_EQ(script_error("  RuntimeError: indented is not a line start"), "  RuntimeError: indented is not a line start");
}

// ---- CUDA: emulation (the GPU machine) -------------------------------------------------

class CudaWorkload : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: emulated workloads are tested on the GPU machine";
    ensure_copy_from_and_resize(c10::DispatchKey::CUDA);
  }
  const c10::Device cuda_{c10::kCUDA, 0};
};

// Native matrix products queue ~1 ms of GPU work, then an emulated roll drains it. The roll's
// attributed share of a pass (median over passes, both ways of observing) must match the roll
// timed alone (synchronized before and after) over the unobserved pass (medians), within 5
// percentage points; without the drain, the queued products would be charged to the roll.
// Medians on both sides: one slow CPU roll in a ratio of sums would move it by several points.
TEST_F(CudaWorkload, EmulatedOpShareMatchesThatOpTimedAlone) {
  at::manual_seed(0);
  const auto a = (at::randn({2048, 2048}) / 45.0).to(cuda_);
  at::Tensor m;
  const auto natives = [&] {
    for (int i = 0; i < 4; ++i) m = at::mm(a, a);
  };
  const auto roll = [&] { return at::roll(m.narrow(0, 0, 512), {7}, {1}); };
  const auto pass = [&] {
    natives();
    at::sin(roll());
  };
  EmulationScope scope({"aten::roll"}, c10::DispatchKey::CUDA);
  for (int i = 0; i < 3; ++i) time_pass(cuda_, pass);
  constexpr int kRounds = 21;
  std::vector<double> roll_us, pass_us, kernels_pct, rf_pct;
  double drain_us = 0;
  const auto share = [](const ObservedPass& p) {
    double us = 0;
    for (const auto& f : p.timeline.fallbacks) {
      EXPECT_EQ(f.op, "aten::roll");
      us += f.us;
    }
    return 100.0 * us / p.pass_us;
  };
  for (int i = 0; i < kRounds; ++i) {
    pass_us.push_back(time_pass(cuda_, pass));
    natives();
    roll_us.push_back(time_pass(cuda_, roll));  // the products are done before the roll starts
    const auto p = observe_pass(cuda_, pass, Observation::kFallbackKernels);
    ASSERT_EQ(p.timeline.fallbacks.size(), 1u);
    drain_us += p.timeline.fallbacks[0].drain_us;
    kernels_pct.push_back(share(p));
    const auto q = observe_pass(cuda_, pass, Observation::kRecordFunction);
    ASSERT_EQ(q.timeline.fallbacks.size(), 1u);
    rf_pct.push_back(share(q));
  }
  const double measured_pct = 100.0 * median(roll_us) / median(pass_us);
  EXPECT_NEAR(median(kernels_pct), measured_pct, 5.0) << "fallback kernels";
  EXPECT_NEAR(median(rf_pct), measured_pct, 5.0) << "RecordFunction";
  EXPECT_GT(drain_us, 0) << "the drain waited for the queued products";
  std::cout << "[ info ] roll share: fallback kernels " << median(kernels_pct) << "%, RecordFunction "
            << median(rf_pct) << "%, timed alone " << measured_pct << "% (roll " << median(roll_us) << " us, pass "
            << median(pass_us) << " us); drained " << drain_us / kRounds << " us per pass\n";
}

TEST_F(CudaWorkload, TinyEmulatedReportsFallbacksAndTheEmulatedOps) {
  const auto out = temp_json("tiny_cuda");
  const auto r = run("--device=cuda --fallback=emulate --workload=tiny --benchmark_min_time=0.2 "
                     "--benchmark_out_format=json --benchmark_out=" + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto row = only_row(out);
  EXPECT_EQ(row.string("name"), "workload:tiny/device:cuda/manual_time");
  expect_workload_counters(row);
  EXPECT_GT(row.number("fallback_pct"), 0);
  EXPECT_GT(row.number("fallback_calls_pct"), 0);
  const auto label = row.string("label");
  EXPECT_EQ(label.rfind("top_fallback=aten::", 0), 0u) << label;
  EXPECT_NE(label.find("; emulated=aten::"), std::string::npos) << label;
  std::cout << "[ info ] " << row.text << "\n";
}

TEST_F(CudaWorkload, TorchScriptEmulated) {
  const auto out = temp_json("model_cuda");
  const auto r = run("--device=cuda --fallback=emulate --workload=" + data("tiny_model.pt") +
                     " --input=1x3x16x16:f32 --benchmark_min_time=0.2 --benchmark_out_format=json --benchmark_out=" +
                     out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto row = only_row(out);
  EXPECT_EQ(row.string("name"), "workload:tiny_model.pt/device:cuda/manual_time");
  EXPECT_GT(row.number("fallback_pct"), 0);
  std::cout << "[ info ] " << row.text << "\n";
}

}  // namespace
}  // namespace mpsfb
