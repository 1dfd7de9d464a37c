// The generic fixture: args: specs become the op's arguments in schema order; malformed
// specs are rejected at the argument's file:line:column with the expected form.
#include "check.h"
#include "generic.h"
#include "op_fixture.h"
#include "paths.h"
#include "suite.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <benchmark/benchmark.h>
#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mpsfb {
namespace {

std::string data_path(const char* name) { return std::string(MPSFB_SOURCE_DIR) + "/test/data/" + name; }

c10::OperatorHandle handle_of(const std::string& op) {
  const auto [name, overload] = split_overload(op);
  return c10::Dispatcher::singleton().findSchemaOrThrow(name.c_str(), overload.c_str());
}

const OpTarget& entry(const Targets& t, const std::string& op) {
  for (const auto& e : t.ops)
    if (e.op == op) return e;
  throw std::runtime_error("no entry " + op);
}

// "path:line:column" of `needle` (first occurrence, on the line holding `anchor`), 1-based,
// as the loader reports positions.
std::string mark_of(const std::string& path, const std::string& anchor, const std::string& needle) {
  std::ifstream in(path);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find(anchor) == std::string::npos) continue;
    const auto col = line.find(needle);
    if (col == std::string::npos) break;
    return path + ":" + std::to_string(n) + ":" + std::to_string(col + 1);
  }
  throw std::runtime_error("anchor '" + anchor + "' not found in " + path);
}

const OpCalls& generic() {
  const OpCalls* calls = find_op(kGenericFixture);
  if (!calls) throw std::runtime_error("the generic fixture is not registered");
  return *calls;
}

struct Made {
  Case c;
  Stack args;
};

Made make(const Targets& t, const std::string& op, const RunContext& ctx) {
  const auto& e = entry(t, op);
  Made m{Case{&e, handle_of(op), e.shapes.front(), e.dtypes.front(), &ctx}, {}};
  at::manual_seed(0);
  m.args = generic().make(m.c);
  return m;
}

void expect_equal(const c10::IValue& actual, const c10::IValue& expected) {
  const auto r = compare_outputs(expected, actual, Check::kClose);
  EXPECT_FALSE(r.mismatch) << *r.mismatch;
}

class GenericFixtureGoodArgs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { targets_ = new Targets(load_targets(data_path("generic_args_good.yaml"))); }
  static void TearDownTestSuite() { delete targets_; }
  static Targets* targets_;
  RunContext ctx_;
};
Targets* GenericFixtureGoodArgs::targets_ = nullptr;

TEST_F(GenericFixtureGoodArgs, EveryGoodSpecPassesTheSchemaCheck) {
  for (const auto& e : targets_->ops)
    EXPECT_TRUE(check_args(e, handle_of(e.op).schema()).empty()) << e.op;
}

TEST_F(GenericFixtureGoodArgs, SelfIsTheCaseTensorAndScalarsFollowTheSchema) {
  auto m = make(*targets_, "aten::isin.Tensor_Scalar", ctx_);
  ASSERT_EQ(m.args.size(), 4u);  // elements, test_element, assume_unique, invert
  const auto self = m.args[0].toTensor();
  EXPECT_EQ(self.sizes(), c10::IntArrayRef({64}));
  EXPECT_EQ(self.scalar_type(), at::kLong);
  EXPECT_TRUE(m.args[1].isScalar() || m.args[1].isInt());
  EXPECT_FALSE(m.args[2].toBool());  // defaults
  EXPECT_FALSE(m.args[3].toBool());
  auto a = m.args;
  expect_equal(generic().call(m.c, a), at::isin(self, 7));

  auto s = make(*targets_, "aten::isin.Scalar_Tensor", ctx_);
  const auto tested = s.args[1].toTensor();
  EXPECT_EQ(tested.sizes(), c10::IntArrayRef({64}));
  auto b = s.args;
  expect_equal(generic().call(s.c, b), at::isin(7, tested));
}

TEST_F(GenericFixtureGoodArgs, DtypeNamesBecomeScalarTypes) {
  auto m = make(*targets_, "aten::cumsum", ctx_);
  auto a = m.args;
  const auto out = generic().call(m.c, a).toTensor();
  EXPECT_EQ(out.scalar_type(), at::kDouble);
  expect_equal(out, at::cumsum(m.args[0].toTensor(), 1, at::kDouble));
}

TEST_F(GenericFixtureGoodArgs, OutTensorsAreAllocatedAndSizedBeforeTiming) {
  auto m = make(*targets_, "aten::lerp.Scalar_out", ctx_);
  ASSERT_EQ(m.args.size(), 4u);
  const auto out = m.args[3].toTensor();
  EXPECT_EQ(out.sizes(), c10::IntArrayRef({3, 5}));  // sized by the untimed call, not by the timed ones
  EXPECT_EQ(out.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(m.args[1].toTensor(), at::ones({3, 5})));
  auto a = m.args;
  const auto r = generic().call(m.c, a);
  EXPECT_TRUE(r.toTensor().is_same(out));  // the op wrote into the preallocated buffer
  expect_equal(r, at::lerp(m.args[0].toTensor(), m.args[1].toTensor(), 0.25));

  auto k = make(*targets_, "aten::kthvalue.values", ctx_);
  ASSERT_EQ(k.args.size(), 6u);  // self, k, dim, keepdim, values, indices
  EXPECT_EQ(k.args[2].toInt(), -1);
  EXPECT_EQ(k.args[4].toTensor().scalar_type(), at::kFloat);
  EXPECT_EQ(k.args[5].toTensor().scalar_type(), at::kLong);
  EXPECT_EQ(k.args[5].toTensor().sizes(), c10::IntArrayRef({6}));
  auto ka = k.args;
  const auto [values, indices] = at::kthvalue(k.args[0].toTensor(), 2);
  expect_equal(generic().call(k.c, ka), c10::ivalue::Tuple::create({values, indices}));

  auto p = make(*targets_, "aten::polar.out", ctx_);
  EXPECT_EQ(p.args[2].toTensor().scalar_type(), at::kComplexFloat);
  EXPECT_EQ(p.args[2].toTensor().sizes(), c10::IntArrayRef({8}));
  auto pa = p.args;
  expect_equal(generic().call(p.c, pa), at::polar(p.args[0].toTensor(), p.args[1].toTensor()));

  auto l = make(*targets_, "aten::logspace.out", ctx_);
  auto la = l.args;
  expect_equal(generic().call(l.c, la), at::logspace(0, 2, 5));
}

TEST_F(GenericFixtureGoodArgs, IntsNoneAndListBroadcast) {
  auto m = make(*targets_, "aten::max_pool3d_with_indices", ctx_);
  EXPECT_EQ(m.args[1].toIntVector(), std::vector<int64_t>({2, 2, 2}));
  auto a = m.args;
  const auto [v, i] = at::max_pool3d_with_indices(m.args[0].toTensor(), {2, 2, 2});
  expect_equal(generic().call(m.c, a), c10::ivalue::Tuple::create({v, i}));

  auto u = make(*targets_, "aten::upsample_nearest3d.vec", ctx_);
  EXPECT_TRUE(u.args[2].isNone());
  auto ua = u.args;
  const auto out = generic().call(u.c, ua).toTensor();
  EXPECT_EQ(out.sizes(), c10::IntArrayRef({1, 2, 4, 4, 4}));

  auto s = make(*targets_, "aten::_linalg_solve_ex", ctx_);
  const auto A = s.args[0].toTensor(), B = s.args[1].toTensor();
  EXPECT_EQ(B.sizes(), A.sizes());
  EXPECT_TRUE(at::allclose(A, A.transpose(-2, -1)));  // spd: symmetric
  auto sa = s.args;
  const auto x = output_tensors(generic().call(s.c, sa)).at(0);
  EXPECT_TRUE(at::allclose(at::matmul(A, x), B, 1e-4, 1e-4));
}

// Each malformed spec, found by its anchor comment in the file: the problem names the
// argument's position and says what the schema expects.
struct Bad {
  const char* op;
  const char* anchor;
  const char* needle;  // where on that line the loader's mark points
  std::vector<const char*> says;
};

const std::vector<Bad>& bad_specs() {
  static const std::vector<Bad> bad = {
      {"aten::roll", "BAD-extra", "int: 3", {"argument 4 is beyond the schema", "takes 3", "expected: at most 3"}},
      {"aten::lerp.Scalar_out",
       "BAD-tensor",
       "int: 1",
       {"argument 2 ('end')", "is Tensor, the spec gives an int", "expected: self, or {tensor: {shape:"}},
      {"aten::col2im", "BAD-count", "ints: [3, 3, 3]", {"argument 3 ('kernel_size')", "takes 2 values", "expected: {ints: [..]} with 2 values"}},
      {"aten::cumsum", "BAD-dtype", "str: f99", {"argument 3 ('dtype')", "unknown dtype 'f99'", "expected: {str: f32}"}},
      {"aten::_amp_foreach_non_finite_check_and_unscale_",
       "BAD-list",
       "self",
       {"argument 1 ('self')", "Tensor", "expected: a C++ trait"}},
      {"aten::native_dropout", "BAD-missing", "op:", {"argument 2 ('p', float)", "has no default", "expected: {float: X}"}},
  };
  return bad;
}

class GenericFixtureBadArgs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The loader takes them: each argument is well formed; only the schema says otherwise.
    targets_ = new Targets(load_targets(data_path("generic_args_bad.yaml")));
  }
  static void TearDownTestSuite() { delete targets_; }
  static Targets* targets_;
};
Targets* GenericFixtureBadArgs::targets_ = nullptr;

TEST_F(GenericFixtureBadArgs, CheckArgsNamesTheArgumentsPositionAndTheExpectedForm) {
  const auto path = data_path("generic_args_bad.yaml");
  for (const auto& b : bad_specs()) {
    SCOPED_TRACE(b.op);
    const auto& e = entry(*targets_, b.op);
    const auto problems = check_args(e, handle_of(b.op).schema());
    ASSERT_FALSE(problems.empty());
    const auto& p = problems.front();
    EXPECT_EQ(p.rfind(mark_of(path, b.anchor, b.needle) + ": ", 0), 0u) << p;
    for (const char* s : b.says) EXPECT_NE(p.find(s), std::string::npos) << "missing '" << s << "' in: " << p;
  }
  // Both missing arguments of native_dropout are reported.
  EXPECT_EQ(check_args(entry(*targets_, "aten::native_dropout"), handle_of("aten::native_dropout").schema()).size(),
            2u);
}

TEST_F(GenericFixtureBadArgs, MakeRejectsTheSpecWithTheSameMessage) {
  RunContext ctx;
  for (const auto& b : bad_specs()) {
    SCOPED_TRACE(b.op);
    const auto& e = entry(*targets_, b.op);
    const Case c{&e, handle_of(b.op), e.shapes.front(), e.dtypes.front(), &ctx};
    try {
      generic().make(c);
      ADD_FAILURE() << "make() accepted a malformed spec";
    } catch (const std::invalid_argument& ex) {
      EXPECT_NE(std::string(ex.what()).find(mark_of(data_path("generic_args_bad.yaml"), b.anchor, b.needle)),
                std::string::npos)
          << ex.what();
    }
  }
}

// Google Benchmark 1.7 reports errors as error_occurred/error_message, 1.8+ as skipped/skip_message.
template <class R>
auto error_of(const R& r, int) -> decltype(r.error_occurred, std::string()) {
  return r.error_occurred ? r.error_message : "";
}
template <class R>
auto error_of(const R& r, long) -> decltype(r.skipped, std::string()) {
  return static_cast<int>(r.skipped) != 0 ? r.skip_message : "";
}

class Collect : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) errors.push_back(error_of(r, 0));
  }
  std::vector<std::string> errors;
};

// Through the suite: each malformed entry is a skipped row carrying the message, and the
// run goes on.
TEST_F(GenericFixtureBadArgs, TheSuiteSkipsTheCaseWithTheMessage) {
  static RunContext ctx;  // the runner keeps pointers to these until the process ends
  static std::deque<Case> cases;
  ctx.device = c10::Device(c10::kCPU);
  benchmark::ClearRegisteredBenchmarks();
  ASSERT_EQ(register_cases(*targets_, ctx, cases), bad_specs().size());
  std::vector<std::string> args = {"generic_fixture_test", "--benchmark_min_time=0.001"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  benchmark::Initialize(&argc, argv.data());
  Collect collect;
  benchmark::RunSpecifiedBenchmarks(&collect);
  ASSERT_EQ(collect.errors.size(), bad_specs().size());
  for (size_t i = 0; i < collect.errors.size(); ++i) {
    const auto& b = bad_specs()[i];
    EXPECT_NE(collect.errors[i].find(mark_of(data_path("generic_args_bad.yaml"), b.anchor, b.needle)),
              std::string::npos)
        << b.op << ": " << collect.errors[i];
  }
}

// The seed's own specs are well formed.
TEST(GenericFixtureSeedArgs, EveryArgsSpecInTheSeedPassesTheSchemaCheck) {
  const auto t = load_targets(std::string(MPSFB_SOURCE_DIR) + "/ops/targets.seed.yaml");
  size_t n = 0;
  for (const auto& e : t.ops) {
    if (!e.args) continue;
    const auto [name, overload] = split_overload(e.op);
    const auto h = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!h) continue;  // requires: a library this build lacks
    ++n;
    const auto problems = check_args(e, h->schema());
    EXPECT_TRUE(problems.empty()) << e.op << ": " << (problems.empty() ? "" : problems.front());
  }
  EXPECT_GT(n, 0u);
}

}  // namespace
}  // namespace mpsfb
