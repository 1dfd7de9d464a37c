// Output comparison: tolerances, NaN and infinities, and the distribution check of random ops.
#include "check.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace mpsfb {
namespace {

TEST(Check, CloseWithinTheDtypesTolerance) {
  const auto x = at::randn({1000});
  EXPECT_FALSE(compare_outputs(x, x + 1e-6, Check::kClose).mismatch);
  const auto r = compare_outputs(x, x + 1e-2, Check::kClose);
  ASSERT_TRUE(r.mismatch);
  EXPECT_NE(r.mismatch->find("1000 of 1000 elements differ"), std::string::npos) << *r.mismatch;
}

TEST(Check, NanAndInfinitiesInTheSamePlacesAreEqual) {
  const auto x = at::tensor({1.0, NAN, INFINITY, -INFINITY});
  const auto r = compare_outputs(x, x.clone(), Check::kClose);
  EXPECT_FALSE(r.mismatch) << *r.mismatch;
  EXPECT_EQ(r.max_abs_diff, 0);
  EXPECT_TRUE(compare_outputs(x, at::tensor({1.0, NAN, -INFINITY, -INFINITY}), Check::kClose).mismatch);
  EXPECT_TRUE(compare_outputs(x, at::tensor({1.0, 2.0, INFINITY, -INFINITY}), Check::kClose).mismatch);
}

TEST(Check, IntegersAreExactAndShapesMustAgree) {
  const auto i = at::arange(10);
  EXPECT_FALSE(compare_outputs(i, i.clone(), Check::kClose).mismatch);
  EXPECT_TRUE(compare_outputs(i, i + 1, Check::kClose).mismatch);
  const auto r = compare_outputs(i, at::arange(11), Check::kClose);
  ASSERT_TRUE(r.mismatch);
  EXPECT_NE(r.mismatch->find("device gave i64[11], CPU i64[10]"), std::string::npos) << *r.mismatch;
}

TEST(Check, TuplesAreComparedElementwise) {
  const auto a = at::ones({3});
  const c10::IValue t1 = c10::ivalue::Tuple::create({a, a * 2});
  const c10::IValue t2 = c10::ivalue::Tuple::create({a, a * 3});
  const auto r = compare_outputs(t1, t2, Check::kClose);
  ASSERT_TRUE(r.mismatch);
  EXPECT_EQ(r.mismatch->rfind("output 1: ", 0), 0u) << *r.mismatch;
}

TEST(Check, RandomOpsCompareDistributionsNotValues) {
  at::manual_seed(1);
  const auto a = at::randn({20000}), b = at::randn({20000});
  EXPECT_FALSE(compare_outputs(a, b, Check::kRandom).mismatch);
  EXPECT_TRUE(compare_outputs(a, b + 0.5, Check::kRandom).mismatch);
  EXPECT_TRUE(compare_outputs(a, b * 2, Check::kRandom).mismatch);
  // Cauchy has no mean or variance: the quartiles still agree.
  const auto c1 = at::empty({20000}).cauchy_(), c2 = at::empty({20000}).cauchy_();
  EXPECT_FALSE(compare_outputs(c1, c2, Check::kRandom).mismatch);
  EXPECT_TRUE(compare_outputs(c1, c2 + 3, Check::kRandom).mismatch);
  // Small-range discrete draws: the moments agree.
  const auto p1 = at::poisson(at::full({20000}, 0.7)), p2 = at::poisson(at::full({20000}, 0.7));
  EXPECT_FALSE(compare_outputs(p1, p2, Check::kRandom).mismatch);
  const auto inf = at::full({300}, INFINITY);
  EXPECT_TRUE(compare_outputs(a.narrow(0, 0, 300), inf, Check::kRandom).mismatch);
}

}  // namespace
}  // namespace mpsfb
