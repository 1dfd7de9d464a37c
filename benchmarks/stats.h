// Order statistics over per-iteration samples.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace mpsfb {

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

}  // namespace mpsfb
