// Counters every case reports: how they are computed and set. Their names and meanings are
// in contract/result.h, shared with the report.
//
// Times are medians of per-sample times, in microseconds, taken on the host with a steady
// clock; a device sample runs from the call until the device is synchronized. Ratios are
// dimensionless and use Counter::kDefaults (no rate, no per-iteration division).
// Every op case writes every counter of counters::case_counters(): one that is undefined for
// a case is written as 0, and contract/result.h says which counter's 0 marks it undefined
// (Google Benchmark's CSV needs the same columns in every row; 0 rather than NaN keeps every
// format parseable).
#pragma once

#include "contract/result.h"
#include "stats.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb::counters {

// The noise of one side's median: the relative half-width of its distribution-free 95%
// confidence interval (stats.h, median_ci), (x(s) - x(r)) / (2 × median). Chosen over IQR /
// median because the question is how far the median itself could move, which shrinks as
// samples accumulate (about as 1/sqrt(n)); the IQR measures the spread of single calls and
// does not shrink, so a stopping rule on it could never stop an op whose calls vary. One sample
// has no spread to estimate: 1 (100%).
inline double noise(const std::vector<double>& samples) {
  if (samples.size() < 2) return 1.0;
  const MedianCi ci = median_ci(samples);
  return ci.median > 0 ? (ci.hi - ci.lo) / (2 * ci.median) : 1.0;
}

// Medians of one case, as measured; the derived counters are computed from them here only.
struct CaseTimes {
  double cpu_us = 0;
  std::optional<double> dev_us;     // absent on --device=cpu
  std::optional<double> native_us;  // present with --fallback=emulate
  // Median of (dev - cpu) over the interleaved iterations: pairs cancel drift that the
  // difference of two medians keeps. Absent: the difference of the medians is used.
  std::optional<double> paired_overhead_us;
  double cpu_noise = 0;
  std::optional<double> dev_noise, native_noise;
  int64_t samples = 0;
};

// The tensors one call's fallback moves (counted in the probe, fallback.h CountMoves): every
// tensor argument to the CPU; outputs and mutated arguments back to the device.
struct Moves {
  int64_t to_cpu = 0, to_dev = 0;
  double to_cpu_bytes = 0, to_dev_bytes = 0;
};

// What one copy costs on the machine the floor is for: a fixed latency per blocking copy and a
// bandwidth, each way, and one empty synchronize. Measured at start on the device (device.h),
// or loaded from a file (--copy-model=FILE, e.g. ops/copy_model.apple-m-series.yaml with
// published Apple figures) to give the floor as it would be on that machine.
struct CopyModel {
  double h2d_bytes_per_us = 0;  // host (pageable) -> device
  double d2h_bytes_per_us = 0;  // device -> host (pageable)
  double h2d_latency_us = 0;    // a small blocking copy host -> device, allocation included
  double d2h_latency_us = 0;    // a small blocking copy device -> host, allocation included
  double sync_us = 0;           // an empty synchronize
  std::string name;             // "measured", or the file's name:
  std::string source;           // where the figures come from (device, or the file and its sources)

  bool usable() const { return h2d_bytes_per_us > 0 && d2h_bytes_per_us > 0; }
};

// floor = Σ over moved tensors (latency + bytes / bandwidth), each way, + one sync: what a
// fallback that did nothing but its copies would cost on top of the CPU kernel.
inline double floor_us(const Moves& m, const CopyModel& copy) {
  return m.to_cpu * copy.d2h_latency_us + m.to_cpu_bytes / copy.d2h_bytes_per_us + m.to_dev * copy.h2d_latency_us +
         m.to_dev_bytes / copy.h2d_bytes_per_us + copy.sync_us;
}

struct Derived {
  std::optional<double> penalty, overhead_us, floor_us, copy_efficiency;
};

// `moves` is null when the case did not go through the fallback (nothing moved, no floor).
inline Derived derive(const CaseTimes& t, const Moves* moves, const CopyModel* copy) {
  Derived d;
  if (!t.dev_us) return d;
  if (t.cpu_us > 0) d.penalty = *t.dev_us / t.cpu_us;
  d.overhead_us = t.paired_overhead_us ? *t.paired_overhead_us : *t.dev_us - t.cpu_us;
  if (moves && copy && copy->usable()) {
    d.floor_us = floor_us(*moves, *copy);
    if (*d.overhead_us > 0) d.copy_efficiency = *d.floor_us / *d.overhead_us;
  }
  return d;
}

inline void set(benchmark::State& state, const char* key, double value) {
  state.counters[key] = benchmark::Counter(value, benchmark::Counter::kDefaults);
}
// Undefined: written as 0 (see the top of this file).
inline void set(benchmark::State& state, const char* key, const std::optional<double>& value) {
  set(state, key, value.value_or(0.0));
}

// Every op counter of one case by name; absent: undefined (written as 0, see the top of this file).
inline std::map<std::string, std::optional<double>> case_values(const CaseTimes& t, const Derived& d,
                                                                const Moves* moves, bool fallback, double bytes) {
  // The moves are shown where they give a floor (contract: their basis is floor_us).
  const auto moved = [&](double v) { return d.floor_us && moves ? std::optional<double>(v) : std::nullopt; };
  return {{kCpuUs, t.cpu_us},
          {kDevUs, t.dev_us},
          {kNativeUs, t.native_us},
          {kPenalty, d.penalty},
          {kOverheadUs, d.overhead_us},
          {kFloorUs, d.floor_us},
          {kCopyEfficiency, d.copy_efficiency},
          {kFallback, fallback ? 1.0 : 0.0},
          {kBytes, bytes},
          {kCpuNoise, t.cpu_noise},
          {kDevNoise, t.dev_noise},
          {kNativeNoise, t.native_noise},
          {kSamples, static_cast<double>(t.samples)},
          {kMovedToCpu, moved(moves ? static_cast<double>(moves->to_cpu) : 0)},
          {kMovedToDev, moved(moves ? static_cast<double>(moves->to_dev) : 0)},
          {kMovedBytes, moved(moves ? moves->to_cpu_bytes + moves->to_dev_bytes : 0)}};
}

// Sets every op counter of one case, the contract's rows in order: a row without a value in
// case_values is a programming error (Counters.CaseValuesAreTheContractsCounters checks it).
inline void set_case(benchmark::State& state, const CaseTimes& t, const Derived& d, const Moves* moves, bool fallback,
                     double bytes) {
  const auto values = case_values(t, d, moves, fallback, bytes);
  for (const Counter& c : case_rows()) set(state, c.name, values.at(c.name));
}

}  // namespace mpsfb::counters
