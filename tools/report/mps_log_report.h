// The report of an MPS profiler log (mps_log.h): the same files as a benchmark run's report,
// results/<op>.csv, report/cases.csv and report/summary.md, plus report/fallback_ops.csv; the
// ops ranked by the time the run spent in their CPU fallback, merged with demand (votes, links
// from a targets file) and the MPS verdict: every op in the log fell back at run time; with a
// native_functions.yaml, the static verdict of that torch beside it. docs/reports.md.
#pragma once

#include "demand.h"
#include "mps_log.h"
#include "output.h"

#include "contract/verdict.h"

#include <optional>
#include <set>
#include <string>

namespace mpsfb::report {

// The source of every verdict a log gives: the op ran through the fallback on the user's Mac.
inline const std::string kProfilerLogSource = std::string(verdict::kRunTimeSource) + " (profiler log)";

// A torch's native_functions.yaml, for the static verdict shown beside the run-time one.
struct StaticVerdicts {
  verdicts::Book book;
  std::set<std::string> entries;  // "linalg_eig", "isin.Tensor_Tensor", ...: the overloads of a log's op names
  std::string path;
};
// The Book of the verdict flags (contract/verdict_source.h), with its yaml's entries; `path` the yaml read.
StaticVerdicts static_verdicts_of(verdicts::Book book, const std::string& path);

struct LogReportOptions {
  const TargetsDemand* demand = nullptr;            // none: votes and links unknown
  std::optional<double> wall_s;                      // the run's wall time: the fallback% of the run
  const StaticVerdicts* static_verdicts = nullptr;  // none: no static verdict column
  std::string results_dir = "results";
  std::string summary = "report/summary.md";
  std::string cases_csv = "report/cases.csv";  // the ranking's CSV goes beside it (kFallbackOpsCsv)
};
inline constexpr const char* kFallbackOpsCsv = "fallback_ops.csv";

// Adds every output of the report to `out` (nothing is written here); returns the one line
// that says what the log holds ("12 fallback calls of 3 ops, ...", or why there are none).
std::string add_log_report(OutputSet& out, const mps_log::Log& log, const LogReportOptions& options);

}  // namespace mpsfb::report
