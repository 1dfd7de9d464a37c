// Counters every case reports: how they are computed and set. Their names and meanings are
// in contract/result.h, shared with the report.
//
// Times are medians of per-iteration samples, in microseconds, taken on the host with a
// steady clock; a device sample runs from the call until the device is synchronized.
// Ratios are dimensionless and use Counter::kDefaults (no rate, no per-iteration division).
// A counter whose value is undefined for a case (no device, no native kernel measured,
// overhead <= 0) is left out of that case's row rather than written as 0 or NaN.
#pragma once

#include "contract/result.h"

#include <benchmark/benchmark.h>

#include <optional>

namespace mpsfb::counters {

// Medians of one case, as measured; the derived counters are computed from them here only.
struct CaseTimes {
  double cpu_us = 0;
  std::optional<double> dev_us;     // absent on --device=cpu
  std::optional<double> native_us;  // present with --fallback=emulate
  // Median of (dev - cpu) over the interleaved iterations: pairs cancel drift that the
  // difference of two medians keeps. Absent: the difference of the medians is used.
  std::optional<double> paired_overhead_us;
};

// Copy cost model measured once at start (see device.h).
struct CopyModel {
  double h2d_bytes_per_us = 0;
  double d2h_bytes_per_us = 0;
  double sync_us = 0;
};

struct Derived {
  std::optional<double> penalty, overhead_us, floor_us, copy_efficiency;
};

inline Derived derive(const CaseTimes& t, double bytes_in, double bytes_out, const CopyModel* copy) {
  Derived d;
  if (!t.dev_us) return d;
  if (t.cpu_us > 0) d.penalty = *t.dev_us / t.cpu_us;
  d.overhead_us = t.paired_overhead_us ? *t.paired_overhead_us : *t.dev_us - t.cpu_us;
  if (copy && copy->h2d_bytes_per_us > 0 && copy->d2h_bytes_per_us > 0) {
    d.floor_us = bytes_in / copy->d2h_bytes_per_us + bytes_out / copy->h2d_bytes_per_us + copy->sync_us;
    if (*d.overhead_us > 0) d.copy_efficiency = *d.floor_us / *d.overhead_us;
  }
  return d;
}

inline void set(benchmark::State& state, const char* key, double value) {
  state.counters[key] = benchmark::Counter(value, benchmark::Counter::kDefaults);
}
inline void set(benchmark::State& state, const char* key, const std::optional<double>& value) {
  if (value) set(state, key, *value);
}

}  // namespace mpsfb::counters
