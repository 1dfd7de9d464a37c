// The result contract: every name that mps_benchmarks writes and mpsfb_report reads, written
// once. LibTorch-free, so both programs (and their tests) include it; docs/design.md shows
// where each fact flows.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mpsfb {

// "a, b, c": the parts with `sep` between them (the one join of the harness and the report).
std::string join(const std::vector<std::string>& parts, const std::string& sep);

namespace counters {
// Counters every case reports (benchmarks/counters.h computes them; docs/measurement-model.md
// has the model). Times are medians of per-sample times in µs. Each counter's attributes are one
// row of case_rows() below (result.cpp); these constants are its name for the code that sets or
// reads it.
inline constexpr const char* kCpuUs = "cpu_us";
inline constexpr const char* kDevUs = "dev_us";
inline constexpr const char* kNativeUs = "native_us";
inline constexpr const char* kPenalty = "penalty";
inline constexpr const char* kOverheadUs = "overhead_us";
inline constexpr const char* kFloorUs = "floor_us";
inline constexpr const char* kCopyEfficiency = "copy_efficiency";
inline constexpr const char* kFallback = "fallback";
inline constexpr const char* kBytes = "bytes";
inline constexpr const char* kCpuNoise = "cpu_noise";
inline constexpr const char* kDevNoise = "dev_noise";
inline constexpr const char* kNativeNoise = "native_noise";
inline constexpr const char* kSamples = "samples";
inline constexpr const char* kMovedToCpu = "moved_to_cpu";
inline constexpr const char* kMovedToDev = "moved_to_dev";
inline constexpr const char* kMovedBytes = "moved_bytes";

// Where the report's case tables (results/*.csv, cases.csv) put a counter's column: the measured
// values (then the "noisy" flag), the counts (then the label columns), or the last ones.
enum class Column { kMeasured, kCounts, kLast };

// One row per counter: everything a reader or a checker needs to know about it (nvbench's
// summaries and google/benchmark's Counter flags are the model). Adding a counter is one row
// here plus the code that computes it (counters.h case_values).
struct Counter {
  const char* name;
  const char* meaning;
  const char* unit;  // "us", "x" (a ratio), "0/1", "fraction", "count", "tensors", "bytes", "%", "calls"
  // Every op case row carries every case counter, so that Google Benchmark's CSV has one set of
  // columns for all rows (1.7.1 aborts otherwise). A counter that is undefined for a case (no
  // device, no native timing, no fallback to floor, overhead <= 0) is written as 0, never NaN;
  // which counter says so is its basis: the counter is undefined when its basis is 0 (most
  // counters are their own basis; overhead_us and a side's noise follow their side's time).
  // nullptr: always defined.
  const char* basis;
  bool can_be_negative;  // a negative value read back is an error unless this is set
  // Noise: the time counter whose median this counter describes; nullptr for the others.
  const char* noise_of;
  Column column;
};

// The op counters every case row writes, in the order the harness sets them.
const std::vector<Counter>& case_rows();
// The counters of a workload row (mps_benchmarks --workload=...).
const std::vector<Counter>& workload_rows();
// case_rows()' names, in order.
const std::vector<std::string>& case_counters();
// The basis of a case counter (see Counter::basis); nullptr when always defined or not a case counter.
const char* undefined_when_zero(const std::string& key);
// (noise counter, the time counter whose median it describes), from case_rows(). A case
// measured in several visits (repetitions) is as noisy as the larger of its visits' noise and the
// spread of the visits' medians (stats.h visit_spread): mpsfb_report combines them.
const std::vector<std::pair<const char*, const char*>>& noise_sides();
// A case is flagged noisy in the report when a side's noise exceeds this (the runs' default
// target is 0.02: a case above 0.05 stopped at its time or sample limit far from it).
inline constexpr double kNoisyAbove = 0.05;

// Workload counters (mps_benchmarks --workload=...): their rows are workload_rows().
inline constexpr const char* kFallbackPct = "fallback_pct";
inline constexpr const char* kFallbackCallsPct = "fallback_calls_pct";
inline constexpr const char* kTotalOps = "total_ops";
inline constexpr const char* kWallUs = "wall_us";
inline constexpr const char* kObservedUs = "observed_us";
inline constexpr const char* kAttributionOverheadPct = "attribution_overhead_pct";
inline constexpr const char* kFallbackUs = "fallback_us";
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
// split()'s inverse: "key:value/key:value". Every name the programs write is made here.
std::string join(const Segments& segments);
// Whether `name` is an op case's (its first segment is op:).
bool is_op_case(const std::string& name);
}  // namespace name

// The label of a case or workload row: "key=value; key=value", readable in the console and
// parsed back by the report. Values never hold "; " (format() replaces it). Each key's meaning
// is one row of keys() below (result.cpp).
namespace label {
inline constexpr const char* kFallbackOps = "fallback_ops";
inline constexpr const char* kEmulatedOps = "emulated_ops";
inline constexpr const char* kMaxAbsDiff = "emulated_vs_native_max_abs_diff";
inline constexpr const char* kStaticTable = "static";
// The recorded verdict: these three are also the fields of a targets entry's mps_verdict: map
// (verdict::record_field() derives its spelling from them).
inline constexpr const char* kMpsVerdict = "mps_verdict";
inline constexpr const char* kMpsVia = "mps_via";
inline constexpr const char* kVerdictSource = "verdict_source";
inline constexpr const char* kStaticVerdict = "static_verdict";
inline constexpr const char* kVerdictFinding = "verdict_finding";
inline constexpr const char* kTopFallback = "top_fallback";
inline constexpr const char* kEmulated = "emulated";
inline constexpr const char* kVerdictTorch = "verdict_torch";
inline constexpr const char* kVerdictId = "verdict_id";

enum class Row { kCase, kWorkload };
// One row per label key. `case_column`: the report's case tables carry it as a column;
// `kept_empty`: format() writes it with an empty value too (the workload row always says it).
struct Key {
  const char* name;
  const char* meaning;
  Row row;
  bool case_column;
  bool kept_empty;
};
const std::vector<Key>& keys();

using Fields = std::vector<std::pair<std::string, std::string>>;
std::string format(const Fields& fields);  // empty values are left out, unless the key's row keeps them
std::map<std::string, std::string> parse(const std::string& label);
}  // namespace label

// Values of label::kMpsVerdict.
namespace verdict {
inline constexpr const char* kNative = "native";                      // MPS has a kernel (all leaves, for a composite)
inline constexpr const char* kFallsBack = "falls back";               // runs on the CPU through the fallback
inline constexpr const char* kUnsupportedDtype = "unsupported dtype";  // MPS cannot hold the dtype: an error, not a fallback
inline constexpr const char* kUnknown = "unknown";                    // no native_functions.yaml, or an op it lacks

// Where a verdict comes from (label::kVerdictSource): run time on an MPS build, else a static
// reading of a torch's yaml ("static: native_functions.yaml of torch 2.13.0", ...), or unknown.
inline constexpr const char* kRunTimeSource = "run time on MPS";
inline constexpr const char* kStaticSource = "static: ";   // the prefix of every static source
inline constexpr const char* kUnknownSource = "unknown: ";  // the prefix of a source that has no verdict

// A targets entry records a verdict as mps_verdict: {torch, verdict, via, source}: the label's
// keys without their "mps_" / "verdict_" part, plus the torch it is for.
inline constexpr const char* kRecordTorch = "torch";
std::string record_field(const std::string& label_key);  // label::kMpsVia -> "via"
const std::vector<std::string>& record_fields();       // torch, verdict, via, source

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

// The counter and label tables and the verdict record as JSON (mpsfb_report --list-contract):
// what the Python tools read instead of restating them.
std::string contract_json();

}  // namespace mpsfb
