// What the report says about a run: the per-op case tables and report/summary.md.
#pragma once

#include "demand.h"
#include "model.h"
#include "section.h"
#include "table.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb::report {

// The case ran on a device (not --device=cpu, where nothing is probed).
bool on_device(const Case& c);
// A --fallback=emulate run (context fallback_mode).
bool emulate_run(const Model& m);
// The case ran on a device through the fallback: fallback counter 1, or emulated ops named.
bool through_fallback(const Case& c);

// Did an op go through the fallback on the machine that ran it? From the fallback counter of
// its cases that ran on a device (CPU-only rows carry fallback=0 without having probed
// anything). In emulate mode, an op that no case routed through the fallback is kNo: its
// verdict said native, so it ran on the device's own kernel.
struct FallbackStatus {
  enum class Kind { kYes, kPartly, kNo, kEmulated, kCpuOnly, kNoData };
  Kind kind = Kind::kNoData;
  size_t falling = 0, measured = 0;       // device cases with fallback=1 / with the counter
  std::vector<std::string> fallback_ops;  // union of the cases' fallback_ops labels, sorted
  std::string no_data_reason;             // kNoData: "error" or "skipped"

  // yes | yes (k/n cases) | no | emulated | emulated (k/n cases) | n/a (cpu run) | error | skipped
  std::string text() const;
};
FallbackStatus fallback_status(const Model& m, const std::string& op);

// The largest of a case's cpu_noise, dev_noise and native_noise; absent when it reports none.
std::optional<double> case_noise(const Case& c);
// An ok case whose noise exceeds counters::kNoisyAbove: the report names it.
bool noisy(const Case& c);

// Columns of results/<op>.csv (one row per case); with_op adds a leading op column (report/cases.csv).
Table case_table(const std::vector<const Case*>& cases, bool with_op);

// Pain = log2(1 + votes) × log2(1 + max(0, median overhead_us)); absent without a device run.
std::optional<double> pain_score(std::optional<int64_t> votes, std::optional<double> median_overhead_us);

struct SummaryOptions {
  const TargetsDemand* demand = nullptr;  // none: votes and links are unknown
  std::vector<std::string> plots;         // image paths to embed, relative to the summary
};
// report/summary.md of a run as sections; its rankings name their CSVs (top_pain.csv, now_native.csv).
Report summary_report(const Model& m, const SummaryOptions& options);

}  // namespace mpsfb::report
