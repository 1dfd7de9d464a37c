// Adaptive stopping: how many interleaved samples a case takes (nvbench's idea: measure until
// the result is stable, within limits). docs/measurement-model.md, "How long a case runs".
//
//   sampling::Series s;  // the sides this case times
//   const auto stop = sampling::run(rule, /*at_least=*/state.max_iterations, s, s.dev,
//                                   [&] { /* one interleaved sample: push cpu, native, dev */ }, seconds_since_start);
//
// LibTorch-free: the loop knows samples and a clock, so tests drive it with made-up ones.
#pragma once

#include "counters.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace mpsfb::sampling {

// A run on a device measures each case this many times, at moments spread over the run
// (gbench_glue.h BenchmarkArgv): a busy host's CPU drifts by 10-20% over seconds, which one
// visit's samples cannot see. A CPU-only run visits once: no penalty to stabilize, and CI's time.
inline constexpr int64_t kDeviceVisits = 3;

// A case never reports fewer samples than this in all, whatever the time limit: a median of
// three, over its visits (a case of 1.6 s per call visited three times takes one per visit).
inline constexpr int64_t kHardMinSamples = 3;
inline int64_t hard_min_per_visit(int64_t visits) {
  const int64_t v = std::max<int64_t>(1, visits);
  return (kHardMinSamples + v - 1) / v;
}

// --cpu_sample=steady warms the CPU call only below this: a call that short pays visibly for
// waking threads and refilling caches; a longer one would double the case's time for little.
inline constexpr double kSteadyCpuCallBelowUs = 1000;

// What precedes each timed CPU sample on a device (docs/measurement-model.md, "The CPU sample").
enum class CpuSample {
  kSteady,       // one untimed CPU call: the op's steady state in a loop (the default)
  kAfterDevice,  // nothing: the CPU call right after the device's, caches and threads as it left them
};

struct Rule {
  double noise_target = 0.02;  // stop once every timed side's noise (counters::noise) is at most this
  int64_t min_samples = 10;    // ... and at least this many samples were taken
  int64_t max_samples = 10000;  // stop here even if noisy
  double max_time_s = 0.5;     // ... or once sampling has taken this long (wall time, all sides), noisy or not:
                               // the case's time in all, each visit having max_time_s / visits
  int64_t visits = 1;          // how many times the run measures each case (Google Benchmark's repetitions)
  // An explicit --benchmark_min_time=X: samples × median of the timed side must reach X seconds
  // before any other rule may stop (Google Benchmark's own contract for its manual time).
  double min_timed_s = 0;
  // > 0: exactly this many samples (or at_least, if more), no noise rule: the repetitions after
  // a case's first measurement, which Google Benchmark requires to have its iteration count;
  // --benchmark_min_time=Nx.
  int64_t fixed = 0;
  // Untimed warm-up before the samples: whole interleaved iterations until this much time has
  // passed (at least one).
  double warmup_s = 0.02;
  CpuSample cpu_sample = CpuSample::kSteady;
};

inline const char* to_string(CpuSample c) { return c == CpuSample::kSteady ? "steady" : "after-device"; }

enum class Stop { kStable, kMaxSamples, kMaxTime, kFixed };
inline const char* to_string(Stop s) {
  switch (s) {
    case Stop::kStable:
      return "stable";
    case Stop::kMaxSamples:
      return "max_samples";
    case Stop::kMaxTime:
      return "max_time";
    case Stop::kFixed:
      return "fixed";
  }
  return "?";
}

// Per-sample times (µs) of the sides a case times, one entry per interleaved sample; a side
// the case does not time stays empty.
struct Series {
  std::vector<double> cpu, native, dev;
  int64_t size() const { return static_cast<int64_t>(cpu.size()); }
};

// The largest noise over the sides that have samples.
inline double worst_noise(const Series& s) {
  double worst = 0;
  for (const auto* side : {&s.cpu, &s.native, &s.dev})
    if (!side->empty()) worst = std::max(worst, counters::noise(*side));
  return worst;
}

// Takes samples with take_one() (which appends one interleaved sample to `s`) until the rule
// says stop, and says why. `timed` is the side whose median Google Benchmark reports (dev on a
// device, cpu on --device=cpu); `at_least` is the iteration count Google Benchmark asked for;
// elapsed_s() is the wall time since sampling started. The time limit is checked after every
// sample; the noise, which sorts the samples, after min_samples and then every n/8 samples.
template <class TakeOne, class Elapsed>
Stop run(const Rule& r, int64_t at_least, Series& s, const std::vector<double>& timed, TakeOne take_one,
         Elapsed elapsed_s) {
  if (r.fixed > 0) {
    const int64_t n = std::max(r.fixed, at_least);
    while (s.size() < n) take_one();
    return Stop::kFixed;
  }
  const int64_t floor_n = std::max({hard_min_per_visit(r.visits), at_least, int64_t{1}});
  const double visit_time_s = r.max_time_s / static_cast<double>(std::max<int64_t>(1, r.visits));
  int64_t next_check = std::max(r.min_samples, floor_n);
  bool timed_met = r.min_timed_s <= 0;
  for (;;) {
    take_one();
    const int64_t n = s.size();
    if (n < floor_n) continue;
    const bool check = n >= next_check;
    if (check) next_check = n + std::max<int64_t>(1, n / 8);
    if (!timed_met) {
      // Google Benchmark's minimum first; checked at the noise cadence (it needs the median).
      if (!check || static_cast<double>(n) * median(timed) * 1e-6 < r.min_timed_s) continue;
      timed_met = true;
    }
    if (n >= r.max_samples) return Stop::kMaxSamples;
    if (elapsed_s() >= visit_time_s) return Stop::kMaxTime;
    if (check && n >= r.min_samples && worst_noise(s) <= r.noise_target) return Stop::kStable;
  }
}

}  // namespace mpsfb::sampling
