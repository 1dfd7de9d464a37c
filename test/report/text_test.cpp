// The report's two number styles (exact for CSV, short for reading) and its string helpers.
#include "report/text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mpsfb::report {
namespace {

TEST(FormatNumber, IsTheShortestTextThatReadsBackAsTheSameDouble) {
  EXPECT_EQ(format_number(100), "100");
  EXPECT_EQ(format_number(1.612), "1.612");
  EXPECT_EQ(format_number(0.1), "0.1");
  EXPECT_EQ(format_number(50331648), "50331648");
  EXPECT_EQ(format_number(60000), "60000");  // not 6e+04
  EXPECT_EQ(format_number(1.0 / 3), "0.3333333333333333");
  for (const double v : {1.0 / 3, 2.0 / 3, 1e-5, 123456.789, 5e-324})
    EXPECT_EQ(std::strtod(format_number(v).c_str(), nullptr), v) << format_number(v);
}

TEST(FormatNumber, UsesAnExponentOnlyOutsideTheUsualRange) {
  EXPECT_EQ(format_number(1e-7), "1e-07");
  EXPECT_EQ(format_number(1e21), "1e+21");
  EXPECT_EQ(format_number(1e20), "100000000000000000000");
}

TEST(FormatNumber, WritesNonFiniteAndNegativeZeroPlainly) {
  EXPECT_EQ(format_number(std::nan("")), "nan");
  EXPECT_EQ(format_number(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_number(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(format_number(-0.0), "0");
}

TEST(FormatShort, KeepsThreeSignificantDigits) {
  EXPECT_EQ(format_short(0), "0");
  EXPECT_EQ(format_short(0.12345), "0.123");
  EXPECT_EQ(format_short(1.2345), "1.23");
  EXPECT_EQ(format_short(12.345), "12.3");
  EXPECT_EQ(format_short(123.45), "123");
  EXPECT_EQ(format_short(12345.6), "12346");
  EXPECT_EQ(format_short(0.001234), "0.0012");
  EXPECT_EQ(format_short(-0.0001), "-0.0001");
  EXPECT_EQ(format_short(-0.0004), "-0.0004");
  EXPECT_EQ(format_short(9.996), "10.0");  // rounds into the next band's digits, as printf does
}

TEST(FormatFactorAndDash, MarkAbsentValues) {
  EXPECT_EQ(format_factor(2.314), "2.31×");
  EXPECT_EQ(format_factor(std::nullopt), "—");
  EXPECT_EQ(format_or_dash(std::nullopt), "—");
  EXPECT_EQ(format_or_dash(0.5), "0.500");
}

TEST(FormatChange, IsSignedAndRelativeToTheBase) {
  EXPECT_EQ(format_change(100.0, 112.3), "+12.3%");
  EXPECT_EQ(format_change(100.0, 50.0), "-50.0%");
  EXPECT_EQ(format_change(-100.0, -50.0), "+50.0%");  // relative to |base|
  EXPECT_EQ(format_change(100.0, 100.0), "0%");
  EXPECT_EQ(format_change(0.0, 5.0), "—");
  EXPECT_EQ(format_change(std::nullopt, 5.0), "—");
  EXPECT_EQ(format_change(1.0, std::numeric_limits<double>::infinity()), "—");
}

TEST(SplitJoin, AreInverse) {
  EXPECT_EQ(split("a,,b", ","), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("", ","), (std::vector<std::string>{""}));
  EXPECT_EQ(join({"a", "", "b"}, ","), "a,,b");
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_TRUE(ends_with("x.csv", ".csv"));
  EXPECT_FALSE(ends_with("csv", ".csv"));
}

}  // namespace
}  // namespace mpsfb::report
