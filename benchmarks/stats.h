// Order statistics over per-iteration samples.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace mpsfb {

// Every sample is host time on this clock, in microseconds.
using Clock = std::chrono::steady_clock;
inline double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

// Median of the samples (mean of the middle two for an even count). Takes a copy: the
// caller keeps its samples in order.
inline double median(std::vector<double> v) {
  if (v.empty()) throw std::invalid_argument("median of no samples");
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double hi = v[mid];
  if (v.size() % 2) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lo + hi) / 2;
}

// The noise of a median over visits (a case measured at several moments of a run, each visit
// with its own median): half the range of the visits' medians over their median,
// (max - min) / (2 × median), the between-visit counterpart of counters::noise's half-width.
// 0 for fewer than two visits.
inline double visit_spread(const std::vector<double>& medians) {
  if (medians.size() < 2) return 0;
  const auto [lo, hi] = std::minmax_element(medians.begin(), medians.end());
  const double m = median(medians);
  return m > 0 ? (*hi - *lo) / (2 * m) : 0;
}

// A distribution-free confidence interval of the median: the order statistics x(r) and x(s)
// (1-based ranks) with P(x(r) <= median <= x(s)) of about 95%, whatever the distribution.
// The number of samples below the true median is Binomial(n, 1/2); its normal approximation
// gives r = floor((n - z*sqrt(n)) / 2), s = ceil(1 + (n + z*sqrt(n)) / 2) (Conover, Practical
// Nonparametric Statistics, 3rd ed., §3.2), clamped to [1, n]. For n = 100 that is x(40) and
// x(61), the exact binomial interval; for n <= 10 it is the whole range.
struct MedianCi {
  double lo = 0, median = 0, hi = 0;
  int64_t lo_rank = 0, hi_rank = 0;  // 1-based
};

inline MedianCi median_ci(std::vector<double> v, double z = 1.96) {
  if (v.empty()) throw std::invalid_argument("median_ci of no samples");
  std::sort(v.begin(), v.end());
  const auto n = static_cast<int64_t>(v.size());
  const double half = z * std::sqrt(static_cast<double>(n));
  MedianCi ci;
  ci.lo_rank = std::clamp<int64_t>(static_cast<int64_t>(std::floor((n - half) / 2)), 1, n);
  ci.hi_rank = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(1 + (n + half) / 2)), 1, n);
  ci.lo = v[static_cast<size_t>(ci.lo_rank - 1)];
  ci.hi = v[static_cast<size_t>(ci.hi_rank - 1)];
  const size_t mid = v.size() / 2;
  ci.median = v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return ci;
}

}  // namespace mpsfb
