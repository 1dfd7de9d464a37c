// Fallback% of a workload pass: which share of a pass's time went to ops that fell back.
// The model and its limits are in docs/workload.md; in short:
//   - a pass runs with the device synchronized before and after, timed on the host;
//   - the span of each op that falls back is timed, and the fallback share is the sum of the
//     spans over the pass time;
//   - the fallback's own device->host copy waits for the device anyway, so the device is
//     synchronized just before it and that wait (work queued by earlier native ops) is taken
//     off the fallback's span: no sync is added after ordinary ops;
//   - two ways to see the fallbacks (Observation): RecordFunction at every depth (any
//     fallback, counts every top-level call, but costs every op ~0.2 us), or the EmulationScope
//     kernels alone (only routed ops, nothing per op). The workload benchmark maps the run with
//     the first and times it with the second.
#pragma once

#include "fallback.h"

#include <benchmark/benchmark.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mpsfb {

// One observed pass.
struct ObservedPass {
  double pass_us = 0;
  Timeline timeline;
};

enum class Observation {
  kRecordFunction,   // a timeline-mode FallbackObserver: every fallback, every top-level call counted
  kFallbackKernels,  // a FallbackTimer: only fallbacks run by EmulationScope kernels; no op counts
};

// Runs `pass` with `device` synchronized before and after; returns the host time in between (us).
double time_pass(const c10::Device& device, const std::function<void()>& pass);

// The same, watched as `how` says, with a drain that synchronizes `device`. The watcher is set
// up and taken down outside the timed region.
ObservedPass observe_pass(const c10::Device& device, const std::function<void()>& pass,
                          Observation how = Observation::kRecordFunction);

// Observed passes summed; the workload counters come from here.
class AttributionTotals {
 public:
  void add(const ObservedPass& p);

  // 100 * sum of fallback spans / sum of pass times.
  double fallback_pct() const;
  // 100 * top-level calls that held a fallback / top-level calls.
  double fallback_calls_pct() const;
  // Top-level op calls per pass (mean).
  double total_ops() const;
  // Fallback time per pass (mean, us).
  double fallback_us() const;
  // Fallback spans per pass (mean): ops that fell back, nested ones not counted.
  double fallbacks_per_pass() const;
  // Each op that fell back with its % of pass time, largest first (ties by name).
  std::vector<std::pair<std::string, double>> by_op() const;
  // The label value: "aten::x:41.2%,aten::y:10.1%" (the `n` largest; empty when none fell back).
  std::string top_fallback(size_t n) const;

 private:
  int64_t passes_ = 0;
  double pass_us_ = 0, fallback_us_ = 0;
  int64_t calls_ = 0, fallback_calls_ = 0, fallbacks_ = 0;
  std::map<std::string, double> op_us_;
};

}  // namespace mpsfb
