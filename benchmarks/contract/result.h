// The result contract: every name that mps_benchmarks writes and mpsfb_report reads, written
// once. LibTorch-free, so both programs (and their tests) include it; docs/design.md shows
// where each fact flows.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mpsfb {

// Counters every case reports, with their meaning (benchmarks/counters.h computes them;
// docs/measurement-model.md has the model). Times are medians of per-sample times in µs.
namespace counters {
inline constexpr const char* kCpuUs = "cpu_us";          // op on CPU tensors
inline constexpr const char* kDevUs = "dev_us";          // op on device tensors, through the fallback if it falls back
inline constexpr const char* kNativeUs = "native_us";    // the device's native kernel (emulated cases only)
inline constexpr const char* kPenalty = "penalty";       // dev_us / cpu_us
inline constexpr const char* kOverheadUs = "overhead_us";  // dev - cpu: median of the paired per-iteration differences
// Σ over the tensors the fallback moves (latency + bytes / bandwidth, each way) + one empty sync
inline constexpr const char* kFloorUs = "floor_us";
inline constexpr const char* kCopyEfficiency = "copy_efficiency";  // floor_us / overhead_us (1 = copies explain it all)
inline constexpr const char* kFallback = "fallback";     // 1 if any op in the call ran through the CPU fallback
inline constexpr const char* kBytes = "bytes";           // bytes of tensor inputs + outputs of one call
// Noise: the relative half-width of a distribution-free 95% confidence interval of the median
// (order statistics), (x(s) - x(r)) / (2 × median): how far the median could move in a rerun.
inline constexpr const char* kCpuNoise = "cpu_noise";
inline constexpr const char* kDevNoise = "dev_noise";
inline constexpr const char* kNativeNoise = "native_noise";
// The time counter whose median each noise counter describes. A case measured in several
// visits (repetitions) is as noisy as the larger of its visits' noise and the spread of the
// visits' medians (stats.h visit_spread): mpsfb_report combines them.
inline const std::vector<std::pair<const char*, const char*>>& noise_sides() {
  static const std::vector<std::pair<const char*, const char*>> kSides = {
      {kCpuNoise, kCpuUs}, {kDevNoise, kDevUs}, {kNativeNoise, kNativeUs}};
  return kSides;
}
inline constexpr const char* kSamples = "samples";  // interleaved samples taken (each: one call per side)
// Tensors one call's fallback moved to the CPU (its inputs) and back to the device (outputs and
// mutated arguments), and their bytes, both ways: counted in the probe, the floor's terms.
inline constexpr const char* kMovedToCpu = "moved_to_cpu";
inline constexpr const char* kMovedToDev = "moved_to_dev";
inline constexpr const char* kMovedBytes = "moved_bytes";

// Every op case row carries every counter above, so that Google Benchmark's CSV has one set of
// columns for all rows (1.7.1 aborts otherwise). A counter that is undefined for a case (no
// device, no native timing, no fallback to floor, overhead <= 0) is written as 0, never NaN;
// which counter says so is its basis: a counter is undefined when its basis is 0 (most counters
// are their own basis; overhead_us and the noise of a side follow their side's time). nullptr:
// always defined.
inline const char* undefined_when_zero(const std::string& key) {
  static const std::map<std::string, const char*> kBasis = {
      {kDevUs, kDevUs},         {kPenalty, kDevUs},       {kOverheadUs, kDevUs},   {kDevNoise, kDevUs},
      {kNativeUs, kNativeUs},   {kNativeNoise, kNativeUs}, {kCpuNoise, kCpuUs},    {kFloorUs, kFloorUs},
      {kMovedToCpu, kFloorUs},  {kMovedToDev, kFloorUs},  {kMovedBytes, kFloorUs}, {kCopyEfficiency, kCopyEfficiency}};
  const auto it = kBasis.find(key);
  return it == kBasis.end() ? nullptr : it->second;
}
// The op counters every case row writes, in the order the harness sets them.
inline const std::vector<std::string>& case_counters() {
  static const std::vector<std::string> kAll = {kCpuUs,      kDevUs,    kNativeUs,  kPenalty,     kOverheadUs,
                                                kFloorUs,    kCopyEfficiency, kFallback, kBytes, kCpuNoise,
                                                kDevNoise,   kNativeNoise, kSamples, kMovedToCpu, kMovedToDev,
                                                kMovedBytes};
  return kAll;
}
// A case is flagged noisy in the report when a side's noise exceeds this (the runs' default
// target is 0.02: a case above 0.05 stopped at its time or sample limit far from it).
inline constexpr double kNoisyAbove = 0.05;

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
}  // namespace counters

// Benchmark names are key:value segments: op:aten::roll/shape:64x3x256x256/dtype:f32/device:cuda
// (benchmarks/naming.cpp writes them; a workload row is workload:tiny/device:cuda).
namespace name {
inline constexpr const char* kOp = "op";
inline constexpr const char* kShape = "shape";
inline constexpr const char* kDtype = "dtype";
inline constexpr const char* kDevice = "device";
inline constexpr const char* kWorkload = "workload";
using Segments = std::vector<std::pair<std::string, std::string>>;
// Segments in order, split at the first ':' of each (an op value holds "::"); a segment
// without ':' (Google Benchmark's "manual_time") is a key with an empty value.
Segments split(const std::string& name);
}  // namespace name

// The label of a case or workload row: "key=value; key=value", readable in the console and
// parsed back by the report. Values never hold "; " (format() replaces it).
namespace label {
inline constexpr const char* kFallbackOps = "fallback_ops";  // ops seen falling back in the probe, comma list
inline constexpr const char* kEmulatedOps = "emulated_ops";  // ops routed through cpu_fallback (emulation), comma list
inline constexpr const char* kMaxAbsDiff = "emulated_vs_native_max_abs_diff";
inline constexpr const char* kStaticTable = "static";        // MPS builds: the op's computed dispatch-table entry
// What MPS does with this case's op in the torch measured (see verdict tokens below).
inline constexpr const char* kMpsVerdict = "mps_verdict";
// falls back: the leaf ops without an MPS kernel (comma list; the op itself when it is not a
// composite); native composite: the leaves, all with kernels.
inline constexpr const char* kMpsVia = "mps_via";
inline constexpr const char* kVerdictSource = "verdict_source";  // "run time on MPS" or "static: ..."
inline constexpr const char* kStaticVerdict = "static_verdict";  // MPS runs: the static verdict beside the run-time one
inline constexpr const char* kVerdictFinding = "verdict_finding";  // MPS runs: where run time and static disagree
// The torch the static verdicts are for (--verdict-torch, a source tree's version, or the linked
// torch), and the files they were read from: "sha256:<hex>" of the yaml, or "commit:<hex>".
inline constexpr const char* kVerdictTorch = "verdict_torch";
inline constexpr const char* kVerdictId = "verdict_id";

using Fields = std::vector<std::pair<std::string, std::string>>;
std::string format(const Fields& fields);  // empty values are left out
std::map<std::string, std::string> parse(const std::string& label);
}  // namespace label

// Values of label::kMpsVerdict.
namespace verdict {
inline constexpr const char* kNative = "native";                      // MPS has a kernel (all leaves, for a composite)
inline constexpr const char* kFallsBack = "falls back";               // runs on the CPU through the fallback
inline constexpr const char* kUnsupportedDtype = "unsupported dtype";  // MPS cannot hold the dtype: an error, not a fallback
inline constexpr const char* kUnknown = "unknown";                    // no native_functions.yaml, or an op it lacks

// "falls back via aten::_adaptive_avg_pool3d", "native: all leaves have MPS kernels", "falls back":
// the verdict as a reader sees it. `op` is the case's op; `via` the label's mps_via list.
std::string text(const std::string& verdict, const std::string& op, const std::vector<std::string>& via);
}  // namespace verdict

// Keys of the run's JSON context (benchmark::AddCustomContext).
namespace context {
inline constexpr const char* kTorchVersion = "torch_version";
inline constexpr const char* kDevice = "device";
inline constexpr const char* kDeviceName = "device_name";
inline constexpr const char* kOsVersion = "os_version";
inline constexpr const char* kFallbackMode = "fallback_mode";  // auto | emulate
inline constexpr const char* kEmulate = "emulate";            // emulate mode: "falls-back" (default) | "all"
inline constexpr const char* kMpsFallbackEnv = "PYTORCH_ENABLE_MPS_FALLBACK";
inline constexpr const char* kTargets = "targets";
inline constexpr const char* kTargetsSha1 = "targets_sha1";
inline constexpr const char* kMpsBuild = "mps_build";
inline constexpr const char* kNativeFunctions = "native_functions";  // the yaml the static verdicts come from, or why none
inline constexpr const char* kVerdictTorch = "verdict_torch";        // torch version the verdicts are for
inline constexpr const char* kVerdictSource = "verdict_source";      // the verdicts' source: torch, file, sha256 or commit
inline constexpr const char* kVerdictId = "verdict_id";              // "sha256:<hex>" of the yaml, or "commit:<hex>"
inline constexpr const char* kH2dGBps = "h2d_GBps";
inline constexpr const char* kD2hGBps = "d2h_GBps";
inline constexpr const char* kSyncUs = "sync_us";
// The copy model floor_us comes from: "measured" at start, or a file's (--copy-model=FILE) name,
// with where its figures come from; its per-copy latencies beside the bandwidths above.
inline constexpr const char* kCopyModel = "copy_model";
inline constexpr const char* kCopyModelSource = "copy_model_source";
inline constexpr const char* kH2dLatencyUs = "h2d_latency_us";
inline constexpr const char* kD2hLatencyUs = "d2h_latency_us";
// The stopping rule of the run (--noise_target, --min_samples, --max_samples, --max_time_s).
inline constexpr const char* kNoiseTarget = "noise_target";
inline constexpr const char* kMinSamples = "min_samples";
inline constexpr const char* kMaxSamples = "max_samples";
inline constexpr const char* kMaxTimeS = "max_time_s";
inline constexpr const char* kHostAllocator = "host_allocator";  // how host memory was set up for the run
inline constexpr const char* kVisits = "visits";  // times each case was measured (repetitions), in a shuffled order
inline constexpr const char* kCpuSample = "cpu_sample";  // steady | after-device: what precedes a timed CPU call
inline constexpr const char* kWorkload = "workload";
inline constexpr const char* kWorkloadInput = "workload_input";  // --input of a TorchScript workload
inline constexpr const char* kEmulatedOps = "emulated_ops";      // workload: the targets' ops it emulated
}  // namespace context

}  // namespace mpsfb
