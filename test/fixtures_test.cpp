// The seed's fixtures: every case of ops/targets.seed.yaml runs, and every fixture's output
// matches its reference (run again on CPU; on the device too when there is one).
#include "check.h"
#include "device.h"
#include "op_fixture.h"
#include "paths.h"
#include "suite.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <benchmark/benchmark.h>
#include <gtest/gtest.h>

#include <deque>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace mpsfb {
namespace {

const Targets& seed() {
  static const Targets t =
      load_targets(std::string(MPSFB_SOURCE_DIR) + "/ops/targets.seed.yaml", LoadOptions{}, make_op_checker());
  return t;
}

std::optional<c10::OperatorHandle> handle_of(const std::string& op) {
  const auto [name, overload] = split_overload(op);
  return c10::Dispatcher::singleton().findSchema({name, overload});
}

// Google Benchmark 1.7 reports errors as error_occurred/error_message, 1.8+ as skipped/skip_message.
template <class R>
auto error_of(const R& r, int) -> decltype(r.error_occurred, std::optional<std::string>()) {
  return r.error_occurred ? std::optional<std::string>(r.error_message) : std::nullopt;
}
template <class R>
auto error_of(const R& r, long) -> decltype(r.skipped, std::optional<std::string>()) {
  return static_cast<int>(r.skipped) != 0 ? std::optional<std::string>(r.skip_message) : std::nullopt;
}

struct Row {
  std::string name;
  std::optional<std::string> error;
};

class Collect : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) rows.push_back({r.benchmark_name(), error_of(r, 0)});
  }
  std::vector<Row> rows;
};

// Runs every registered case once through the real runner (probe + a short timed loop).
std::vector<Row> run_registered(double min_time_s) {
  std::vector<std::string> args = {"fixtures_test", "--benchmark_min_time=" + std::to_string(min_time_s)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  benchmark::Initialize(&argc, argv.data());
  Collect collect;
  benchmark::RunSpecifiedBenchmarks(&collect);
  return collect.rows;
}

// One per line, indented.
std::string lines(const std::vector<std::string>& v) { return v.empty() ? "" : "  " + join(v, "\n  ") + "\n"; }

// Every op x shape x dtype of the seed, through the runner on CPU: each runs, or is a
// `requires:` op this build cannot load, listed as such. Nothing is dropped.
TEST(SeedCases, EveryCaseRunsOnCpu) {
  const auto& targets = seed();
  size_t expected_rows = 0, unavailable_rows = 0;
  for (const auto& t : targets.ops) {
    expected_rows += t.shapes.size() * t.dtypes.size();
    if (!handle_of(t.op)) {
      ASSERT_FALSE(t.requires_lib.empty()) << t.op << " is unknown to this LibTorch and names no requires:";
      unavailable_rows += t.shapes.size() * t.dtypes.size();
    }
  }
  static RunContext ctx;  // the runner keeps pointers to these until the process ends
  static std::deque<Case> cases;
  ctx.device = c10::Device(c10::kCPU);
  benchmark::ClearRegisteredBenchmarks();
  ASSERT_EQ(register_cases(targets, ctx, cases), expected_rows);

  const auto rows = run_registered(0.001);
  ASSERT_EQ(rows.size(), expected_rows);
  std::vector<std::string> failed;
  size_t ok = 0, unavailable = 0;
  for (const auto& r : rows) {
    if (!r.error)
      ++ok;
    else if (r.error->rfind("unavailable", 0) == 0)  // "unavailable: torchvision not found in ..."
      ++unavailable;
    else
      failed.push_back(r.name + ": " + *r.error);
  }
  std::cout << "seed: " << targets.ops.size() << " ops, " << rows.size() << " cases: " << ok << " ran on CPU, "
            << unavailable << " unavailable in this build, " << failed.size() << " failed\n";
  EXPECT_TRUE(failed.empty()) << failed.size() << " seed case(s) failed on CPU:\n" << lines(failed);
  EXPECT_EQ(unavailable, unavailable_rows);
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::optional<c10::Device> accelerator() {
  try {
    const auto d = select_device("auto");
    if (!d.is_cpu()) return d;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Each fixture, on the smallest shape of its entry and every dtype: the output of a second
// call (fresh copies of the same inputs) matches the first under the fixture's own check
// and tolerance (random ops: by distribution), and so does the device's output when there
// is a device. This catches nondeterministic fixtures, non-finite values that no tolerance
// accepts, and tolerances too tight for the op.
TEST(SeedFixtures, OutputMatchesReference) {
  const auto device = accelerator();
  RunContext ctx;
  ctx.device = device.value_or(c10::Device(c10::kCPU));
  std::vector<std::string> failed, no_device_kernel;
  size_t checked = 0;
  for (const auto& t : seed().ops) {
    const auto handle = handle_of(t.op);
    if (!handle) continue;  // requires: a library this build lacks
    const OpCalls* trait = find_op(t.args ? kGenericFixture : t.op);
    if (!trait) {
      failed.push_back(t.op + ": no trait registered with MPSFB_REGISTER_OP");
      continue;
    }
    const OpCalls entry = with_overrides(*trait, t);  // check: and tol_scale: as the runner applies them
    const OpCalls* calls = &entry;
    auto shape = t.shapes.front();
    for (const auto& s : t.shapes)
      if (numel(s) < numel(shape)) shape = s;
    for (const auto dtype : t.dtypes) {
      const Case c{&t, *handle, shape, dtype, &ctx};
      std::ostringstream name;
      name << t.op << " " << c10::IntArrayRef(shape) << " " << dtype;
      try {
        at::manual_seed(0);
        const Stack args = calls->make(c);
        auto a1 = copy_stack(args, c10::kCPU), a2 = copy_stack(args, c10::kCPU);
        const auto expected = calls->call(c, a1);
        const auto again = calls->call(c, a2);
        if (auto r = compare_outputs(expected, again, calls->check, calls->tol_scale); r.mismatch)
          failed.push_back(name.str() + ": a second CPU call differs: " + *r.mismatch);
        if (device) {
          auto d = copy_stack(args, *device);
          c10::IValue actual;
          try {
            actual = calls->call(c, d);
          } catch (const c10::NotImplementedError&) {
            // The device has no kernel for it (slow_conv3d_forward on CUDA): nothing to compare,
            // and the suite reports such a case as skipped with torch's message.
            no_device_kernel.push_back(t.op);
            ++checked;
            continue;
          }
          synchronize(*device);
          if (auto r = compare_outputs(expected, actual, calls->check, calls->tol_scale); r.mismatch)
            failed.push_back(name.str() + ": " + device->str() + " differs from CPU: " + *r.mismatch);
        }
        ++checked;
      } catch (const c10::Error& e) {
        failed.push_back(name.str() + ": " + e.what_without_backtrace());
      } catch (const std::exception& e) {
        failed.push_back(name.str() + ": " + e.what());
      }
    }
  }
  std::cout << "fixtures: " << checked << " op x dtype outputs checked against CPU"
            << (device ? " and " + device->str() : std::string()) << "\n";
  if (!no_device_kernel.empty()) std::cout << "fixtures: no device kernel, CPU only: " << lines(no_device_kernel) << "\n";
  EXPECT_TRUE(failed.empty()) << lines(failed);
}

}  // namespace
}  // namespace mpsfb
