// Counters every case reports: the one place that names them and says what they mean.
//
// Times are medians of per-iteration samples, in microseconds, taken on the host with a
// steady clock; a device sample runs from the call until the device is synchronized.
// Ratios are dimensionless and use Counter::kDefaults (no rate, no per-iteration division).
// A counter whose value is undefined for a case (no device, no native kernel measured,
// overhead <= 0) is left out of that case's row rather than written as 0 or NaN.
#pragma once

#include <benchmark/benchmark.h>

#include <optional>

namespace mpsfb::counters {

inline constexpr const char* kCpuUs = "cpu_us";          // op on CPU tensors
inline constexpr const char* kDevUs = "dev_us";          // op on device tensors, through the fallback if it falls back
inline constexpr const char* kNativeUs = "native_us";    // the device's native kernel (--fallback=emulate only)
inline constexpr const char* kPenalty = "penalty";       // dev_us / cpu_us
inline constexpr const char* kOverheadUs = "overhead_us";  // dev - cpu: median of the paired per-iteration differences
inline constexpr const char* kFloorUs = "floor_us";      // bytes_in/d2h_bw + bytes_out/h2d_bw + empty sync time
inline constexpr const char* kCopyEfficiency = "copy_efficiency";  // floor_us / overhead_us (1 = copies explain it all)
inline constexpr const char* kFallback = "fallback";     // 1 if any op in the call ran through the CPU fallback
inline constexpr const char* kBytes = "bytes";           // bytes of tensor inputs + outputs of one call

// Workload counters (mps_benchmarks --workload=...).
inline constexpr const char* kFallbackPct = "fallback_pct";            // % of op time spent in ops that fell back
inline constexpr const char* kFallbackCallsPct = "fallback_calls_pct";  // % of top-level op calls that fell back
inline constexpr const char* kTotalOps = "total_ops";                  // top-level op calls in one workload pass
inline constexpr const char* kWallUs = "wall_us";          // median unobserved pass, device synced at both ends
inline constexpr const char* kObservedUs = "observed_us";  // median observed pass (the one fallback_pct comes from)
// median over iterations of 100 * (observed/unobserved - 1), the two passes of one iteration paired
inline constexpr const char* kAttributionOverheadPct = "attribution_overhead_pct";
inline constexpr const char* kFallbackUs = "fallback_us";  // mean fallback time per observed pass
// The same fallback share and overhead, from the RecordFunction passes that map the run.
inline constexpr const char* kRfFallbackPct = "rf_fallback_pct";
inline constexpr const char* kRfOverheadPct = "rf_overhead_pct";

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
