// From Google Benchmark rows to cases: one per op × shape × dtype × device, and workloads.
//
// Names are key:value segments (benchmarks/naming.h), split at the first ':' of each segment
// because op values contain '::'. Google Benchmark's own suffixes (/manual_time, /repeats:N,
// ...) are not part of a case's identity.
//
// Which row a case takes its numbers from: the "median" aggregate when repetitions produced
// one (the statistic the harness itself reports per case); otherwise the iteration rows, and
// with several of them the median of each counter.
#pragma once

#include "gbench_json.h"

#include "contract/result.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb::report {

enum class Status { kOk, kError, kSkipped };
const char* to_string(Status s);

// Google Benchmark's own context keys: spelled here once (the name segments are the contract's).
namespace segment = mpsfb::name;
namespace gbench_context {
inline constexpr const char* kDate = "date";
inline constexpr const char* kLibraryBuildType = "library_build_type";
}  // namespace gbench_context

using Segments = name::Segments;
bool is_gbench_suffix(const std::string& key);

struct Case {
  std::string op, shape, dtype, device;
  std::string name;  // key:value name without Google Benchmark's suffixes
  Status status = Status::kOk;
  std::string error;  // why it errored or was skipped
  std::map<std::string, double> counters;
  std::map<std::string, std::string> label;  // key=value pairs of the label (label::parse)
  std::string file;                          // the JSON it came from

  std::optional<double> counter(const std::string& key) const;
  std::string label_field(const std::string& key) const;  // "" when absent
  std::vector<std::string> label_list(const std::string& key) const;  // a comma list field, empty items dropped
};

struct Workload {
  std::string name, device;
  Status status = Status::kOk;
  std::string error;
  std::map<std::string, double> counters;
  std::map<std::string, std::string> label;

  std::optional<double> counter(const std::string& key) const;
};

struct Model {
  std::vector<std::string> files;
  // Context per key, in file order; a key whose files disagree keeps every distinct value.
  std::map<std::string, std::vector<std::string>> context;
  std::vector<Case> cases;  // first-appearance order; a case seen again in a later file is replaced
  std::vector<Workload> workloads;
  std::vector<std::string> ignored;  // rows that are neither op: nor workload: names
  // Each op's cases as indices into `cases`, in run order; build_model fills it. The report
  // looks cases up per op: scanning every case for each op made it quadratic (issue 20, H5).
  std::map<std::string, std::vector<size_t>> by_op;

  // The first file's value, or "" when absent.
  std::string ctx(const std::string& key) const;
  std::vector<std::string> ops() const;  // sorted, each once
  std::vector<const Case*> cases_of(const std::string& op) const;
};

Model build_model(const std::vector<Run>& runs);

}  // namespace mpsfb::report
