// Fallback detection (RecordFunction + warning capture), the dispatch-table classifier on
// recorded MPS table lines, and emulation on CUDA (skipped without it).
#include "fallback.h"

#include <ATen/ATen.h>
#include <ATen/native/CPUFallback.h>
#include <ATen/record_function.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/library.h>

namespace mpsfb {
namespace {

// Test ops. `inner` moves its input with at::_to_cpu, as cpu_fallback does; `outer` calls
// `inner` through the dispatcher; `sin_fb` is a boxed kernel that runs aten::sin through the
// real at::native::cpu_fallback; `clean` never leaves the device.
at::Tensor inner(const at::Tensor& x) { return at::_to_cpu({x})[0] + 1; }
at::Tensor outer(const at::Tensor& x) {
  static auto op = c10::Dispatcher::singleton().findSchemaOrThrow("mpsfb_test::inner", "").typed<at::Tensor(const at::Tensor&)>();
  return op.call(x) * 2;
}
at::Tensor clean(const at::Tensor& x) { return x + 1; }
at::Tensor warns(const at::Tensor& x) {
  TORCH_WARN_ONCE(
      "The operator 'aten::lcm.out' is not currently supported on the MPS backend and will fall back to run on the "
      "CPU. This may have performance implications.");
  return x;
}
void sin_via_cpu_fallback(const c10::OperatorHandle&, torch::jit::Stack* stack) {
  static auto sin = c10::Dispatcher::singleton().findSchemaOrThrow("aten::sin", "");
  at::native::cpu_fallback(sin, stack);
}

TORCH_LIBRARY(mpsfb_test, m) {
  m.def("inner(Tensor x) -> Tensor");
  m.def("outer(Tensor x) -> Tensor");
  m.def("clean(Tensor x) -> Tensor");
  m.def("warns(Tensor x) -> Tensor");
  m.def("sin_fb(Tensor self) -> Tensor");
}
TORCH_LIBRARY_IMPL(mpsfb_test, CPU, m) {
  m.impl("inner", inner);
  m.impl("outer", outer);
  m.impl("clean", clean);
  m.impl("warns", warns);
  m.impl("sin_fb", torch::CppFunction::makeFromBoxedFunction<&sin_via_cpu_fallback>());
}

at::Tensor call(const char* name, const at::Tensor& x) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<at::Tensor(const at::Tensor&)>().call(x);
}

TEST(Probe, ToCpuInsideAnOpScopeIsSeenAndAttributedToTheInnermostOp) {
  FallbackObserver obs;
  const auto y = call("mpsfb_test::outer", at::ones({4}));
  EXPECT_TRUE(at::equal(y, at::full({4}, 4.0)));
  EXPECT_EQ(obs.fallback_ops(), std::vector<std::string>{"mpsfb_test::inner"});
}

TEST(Probe, RealCpuFallbackIsAttributedToTheOpThatRanIt) {
  FallbackObserver obs;
  const auto x = at::linspace(0, 1, 16);
  EXPECT_TRUE(at::allclose(call("mpsfb_test::sin_fb", x), at::sin(x)));
  EXPECT_EQ(obs.fallback_ops(), std::vector<std::string>{"mpsfb_test::sin_fb"});
}

TEST(Probe, NoFallbackSeenForAnOpThatStaysPut) {
  FallbackObserver obs;
  call("mpsfb_test::clean", at::ones({4}));
  at::roll(at::ones({4}), {1}, {0});
  EXPECT_TRUE(obs.fallback_ops().empty());
}

TEST(Probe, ObserverStopsWatchingWhenItGoes) {
  ASSERT_FALSE(at::hasThreadLocalCallbacks());
  {
    FallbackObserver first;
    EXPECT_TRUE(at::hasThreadLocalCallbacks());
    call("mpsfb_test::outer", at::ones({4}));
    EXPECT_EQ(first.fallback_ops(), std::vector<std::string>{"mpsfb_test::inner"});
  }
  EXPECT_FALSE(at::hasThreadLocalCallbacks()) << "the first observer's RecordFunction callback outlived it";
  call("mpsfb_test::outer", at::ones({4}));  // nobody watching: nothing to record, nothing to crash
  FallbackObserver second;                   // a second one may start once the first is gone
  EXPECT_TRUE(second.fallback_ops().empty());
  call("mpsfb_test::outer", at::ones({4}));
  EXPECT_EQ(second.fallback_ops(), std::vector<std::string>{"mpsfb_test::inner"});
}

TEST(Probe, MpsFallbackWarningIsCapturedEveryTimeDespiteWarnOnce) {
  for (int i = 0; i < 2; ++i) {
    FallbackObserver obs;
    call("mpsfb_test::warns", at::ones({1}));
    EXPECT_EQ(obs.fallback_ops(), std::vector<std::string>{"aten::lcm.out"}) << "call " << i;
  }
}

TEST(Probe, OpFromWarningText) {
  // Python's form, as users paste it (mps-fallback-facts.md §2).
  EXPECT_EQ(op_from_fallback_warning(
                "UserWarning: The operator 'aten::_linalg_eigvals' is not currently supported on the MPS backend and "
                "will fall back to run on the CPU. This may have performance implications. (Triggered internally at "
                "/Users/runner/work/pytorch/pytorch/pytorch/aten/src/ATen/mps/MPSFallback.mm:13.)"),
            "aten::_linalg_eigvals");
  EXPECT_EQ(op_from_fallback_warning("Overriding a previously registered kernel"), "");
}

// Lines of OperatorHandle::dumpComputedTable() for the MPS key on macOS arm64 builds, in the
// format of aten/src/ATen/core/dispatch/OperatorEntry.cpp (mps-fallback-facts.md §5).
TEST(Classifier, RecordedMpsTableLines) {
  EXPECT_EQ(classify_table_line("MPS: registered at /Users/runner/work/pytorch/pytorch/pytorch/aten/src/ATen/mps/"
                                "MPSFallback.mm:78 [backend fallback]"),
            DispatchEntry::kBackendFallback);
  EXPECT_EQ(classify_table_line("MPS: registered at /Users/runner/work/pytorch/pytorch/pytorch/aten/src/ATen/mps/"
                                "MPSFallback.mm:86 [kernel]"),
            DispatchEntry::kFallbackKernel);
  EXPECT_EQ(classify_table_line("MPS: registered at /Users/runner/work/pytorch/pytorch/pytorch/build/aten/src/ATen/"
                                "RegisterMPS_0.cpp:12045 [kernel]"),
            DispatchEntry::kKernel);
  EXPECT_EQ(classify_table_line("MPS: registered at /Users/runner/work/pytorch/pytorch/pytorch/build/aten/src/ATen/"
                                "RegisterCompositeImplicitAutograd_0.cpp:5411 [math kernel]"),
            DispatchEntry::kComposite);
  EXPECT_EQ(classify_table_line("MPS: registered at /Users/runner/work/pytorch/pytorch/pytorch/build/aten/src/ATen/"
                                "RegisterCompositeExplicitAutograd_0.cpp:2213 [default backend kernel]"),
            DispatchEntry::kComposite);
  EXPECT_EQ(classify_table_line("Undefined: fallthrough registered in pytorch framework [backend fallback]"),
            DispatchEntry::kBackendFallback);
  EXPECT_EQ(classify_table_line("garbage"), DispatchEntry::kMissing);
}

TEST(Classifier, ThisBuildsCpuEntries) {
  auto& d = c10::Dispatcher::singleton();
  EXPECT_EQ(classify(d.findSchemaOrThrow("aten::roll", ""), c10::DispatchKey::CPU), DispatchEntry::kKernel);
  EXPECT_EQ(classify(d.findSchemaOrThrow("aten::matmul", ""), c10::DispatchKey::CPU), DispatchEntry::kComposite);
#if !defined(__APPLE__)
  EXPECT_FALSE(has_mps_backend());  // static MPS classification is only meaningful on an MPS build
#endif
}

class Emulation : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: emulation is tested on the GPU machine";
    ensure_copy_from_and_resize(c10::DispatchKey::CUDA);
  }
};

TEST_F(Emulation, RoutesTheOpThroughCpuFallbackAndRestoresTheNativeKernel) {
  const auto x = at::randn({8, 1024}).cuda();
  const auto native = at::roll(x, {3}, {-1});
  {
    EmulationScope scope({"aten::roll"}, c10::DispatchKey::CUDA);
    FallbackObserver obs;
    const auto emulated = at::roll(x, {3}, {-1});
    EXPECT_TRUE(emulated.is_cuda());
    EXPECT_TRUE(at::equal(emulated, native));
    EXPECT_EQ(obs.fallback_ops(), std::vector<std::string>{"aten::roll"});
  }
  FallbackObserver after;
  at::roll(x, {3}, {-1});
  EXPECT_TRUE(after.fallback_ops().empty());
}

TEST_F(Emulation, OutVariantsWriteBackThroughCopyFromAndResize) {
  const auto x = at::randn({1, 3, 16, 16}).cuda();
  const auto native = at::upsample_bicubic2d(x, {32, 32}, false);
  auto out = at::empty({0}, x.options());
  EmulationScope scope({"aten::upsample_bicubic2d.out"}, c10::DispatchKey::CUDA);
  FallbackObserver obs;
  at::upsample_bicubic2d_out(out, x, {32, 32}, false);
  EXPECT_EQ(out.sizes(), native.sizes());
  EXPECT_TRUE(at::allclose(out, native, 1e-4, 1e-5));
  EXPECT_EQ(obs.fallback_ops(), std::vector<std::string>{"aten::upsample_bicubic2d.out"});
}

// What the floor counts: every tensor argument to the CPU; outputs that alias no argument and
// mutated arguments back (an out= output is the mutated argument, counted once, after resize).
TEST_F(Emulation, CountMovesCountsWhatCpuFallbackCopies) {
  const auto x = at::randn({8, 1024}).cuda();
  {
    EmulationScope scope({"aten::roll"}, c10::DispatchKey::CUDA);
    CountMoves count;
    at::roll(x, {3}, {-1});
    at::roll(x, {3}, {-1});  // per call of the case: two calls, twice the moves
    EXPECT_EQ(count.moves().to_cpu, 2);
    EXPECT_EQ(count.moves().to_dev, 2);
    EXPECT_DOUBLE_EQ(count.moves().to_cpu_bytes, 2.0 * 8 * 1024 * 4);
    EXPECT_DOUBLE_EQ(count.moves().to_dev_bytes, 2.0 * 8 * 1024 * 4);
  }
  const auto img = at::randn({1, 3, 16, 16}).cuda();
  auto out = at::empty({0}, img.options());
  EmulationScope scope({"aten::upsample_bicubic2d.out"}, c10::DispatchKey::CUDA);
  CountMoves count;
  at::upsample_bicubic2d_out(out, img, {32, 32}, false);
  EXPECT_EQ(count.moves().to_cpu, 1);  // the input; the empty out has nothing to copy
  EXPECT_DOUBLE_EQ(count.moves().to_cpu_bytes, 3.0 * 16 * 16 * 4);
  EXPECT_EQ(count.moves().to_dev, 1);  // the out argument, resized, written back
  EXPECT_DOUBLE_EQ(count.moves().to_dev_bytes, 3.0 * 32 * 32 * 4);
}

}  // namespace
}  // namespace mpsfb
