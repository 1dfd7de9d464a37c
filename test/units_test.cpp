// Naming, the dtype table, medians and the counter math.
#include "counters.h"
#include "dtypes.h"
#include "naming.h"
#include "stats.h"

#include <gtest/gtest.h>

namespace mpsfb {
namespace {

TEST(Naming, KeyValueSegments) {
  EXPECT_EQ(case_name("aten::roll", {64, 3, 256, 256}, at::kFloat, "cuda"),
            "op:aten::roll/shape:64x3x256x256/dtype:f32/device:cuda");
  EXPECT_EQ(case_name("aten::upsample_bicubic2d.out", {1, 3, 8, 8}, at::kHalf, "mps"),
            "op:aten::upsample_bicubic2d.out/shape:1x3x8x8/dtype:f16/device:mps");
  EXPECT_EQ(shape_str({}), "scalar");
}

TEST(Naming, SplitsBackIncludingGoogleBenchmarkSuffixes) {
  const auto parts = name::split("op:aten::isin.Tensor_Tensor/shape:4096/dtype:i64/device:cpu/manual_time");
  const std::map<std::string, std::string> seg(parts.begin(), parts.end());
  EXPECT_EQ(seg.at("op"), "aten::isin.Tensor_Tensor");
  EXPECT_EQ(seg.at("shape"), "4096");
  EXPECT_EQ(seg.at("dtype"), "i64");
  EXPECT_EQ(seg.at("device"), "cpu");
  EXPECT_EQ(seg.count("manual_time"), 1u);
}

TEST(Dtypes, NamesAndAliasesRoundTrip) {
  EXPECT_EQ(parse_dtype("f16"), at::kHalf);
  EXPECT_EQ(parse_dtype("half"), at::kHalf);
  EXPECT_EQ(parse_dtype("long"), at::kLong);
  EXPECT_EQ(parse_dtype("complex64"), at::kComplexFloat);
  EXPECT_FALSE(parse_dtype("float8"));
  for (auto t : {at::kFloat, at::kHalf, at::kBFloat16, at::kDouble, at::kLong, at::kInt, at::kShort, at::kChar,
                 at::kByte, at::kBool, at::kComplexFloat, at::kComplexDouble})
    EXPECT_EQ(parse_dtype(dtype_name(t)), t) << dtype_name(t);
}

TEST(Stats, Median) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({7}), 7);
  EXPECT_THROW(median({}), std::invalid_argument);
}

counters::CopyModel copy_model(double h2d_bytes_per_us, double d2h_bytes_per_us, double sync_us) {
  counters::CopyModel m;
  m.h2d_bytes_per_us = h2d_bytes_per_us;
  m.d2h_bytes_per_us = d2h_bytes_per_us;
  m.sync_us = sync_us;
  return m;
}

counters::CaseTimes times(double cpu_us, std::optional<double> dev_us, std::optional<double> paired = std::nullopt) {
  counters::CaseTimes t;
  t.cpu_us = cpu_us;
  t.dev_us = dev_us;
  t.paired_overhead_us = paired;
  return t;
}

TEST(Counters, DerivedFromMedians) {
  const auto copy = copy_model(/*h2d_bytes_per_us=*/1000, /*d2h_bytes_per_us=*/500, /*sync_us=*/10);
  // One input of 50000 B to the CPU, one output of 20000 B back; no per-copy latency here.
  const counters::Moves moves{1, 1, 50000, 20000};
  const auto d = counters::derive(times(100, 400), &moves, &copy);
  EXPECT_DOUBLE_EQ(*d.penalty, 4.0);
  EXPECT_DOUBLE_EQ(*d.overhead_us, 300.0);
  // 50000 B / 500 B/us (D2H of the inputs) + 20000 B / 1000 B/us (H2D of the outputs) + 10 us sync.
  EXPECT_DOUBLE_EQ(*d.floor_us, 100 + 20 + 10);
  EXPECT_DOUBLE_EQ(*d.copy_efficiency, 130.0 / 300.0);
}

TEST(Counters, OverheadIsThePairedMedianWhenThereIsOne) {
  // Interleaved samples: cpu 100, 300, 110; dev 150, 340, 170 -> paired differences 50, 40,
  // 60 (median 50), while the medians' difference is 170 - 110 = 60.
  const auto copy = copy_model(1000, 1000, 0);
  const counters::Moves moves{1, 1, 10000, 10000};
  const auto d = counters::derive(times(110, 170.0, 50.0), &moves, &copy);
  EXPECT_DOUBLE_EQ(*d.overhead_us, 50);
  EXPECT_DOUBLE_EQ(*d.penalty, 170.0 / 110.0);
  EXPECT_DOUBLE_EQ(*d.copy_efficiency, 20.0 / 50.0);
}

TEST(Counters, UndefinedCountersAreLeftOut) {
  // No device: only cpu_us exists.
  const auto none = counters::derive(times(100, std::nullopt), nullptr, nullptr);
  EXPECT_FALSE(none.penalty || none.overhead_us || none.floor_us || none.copy_efficiency);
  // Device faster than CPU: the overhead is negative, so no copy efficiency.
  const auto copy = copy_model(1000, 1000, 5);
  const counters::Moves moves{1, 1, 1000, 1000};
  const auto faster = counters::derive(times(100, 20.0), &moves, &copy);
  EXPECT_DOUBLE_EQ(*faster.penalty, 0.2);
  EXPECT_DOUBLE_EQ(*faster.overhead_us, -80);
  EXPECT_TRUE(faster.floor_us);
  EXPECT_FALSE(faster.copy_efficiency);
}

}  // namespace
}  // namespace mpsfb
