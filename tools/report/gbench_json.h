// Reads Google Benchmark JSON (1.7.1 … 1.9) into plain rows; nothing past this file sees JSON.
//
//   const Run run = read_run("results/run.json");
//   for (const Row& r : run.rows) use(r.name, r.counters);
//
// Tolerant as the format asks ("ignore unknown fields, tolerate optional fields being
// absent"), strict where a wrong answer would follow: json_schema_version must be 1 when
// present, and the file must be a benchmark object at all.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace mpsfb::report {

// One entry of "benchmarks".
struct Row {
  std::string name;
  std::string run_name;        // name without the aggregate suffix; equals name for iteration rows
  bool aggregate = false;      // run_type == "aggregate"
  std::string aggregate_name;  // mean, median, stddev, cv, or a user statistic
  bool error = false;          // error_occurred (SkipWithError)
  bool skipped = false;        // skipped (SkipWithMessage, 1.8+)
  std::string message;         // error_message or skip_message
  std::string label;
  std::map<std::string, double> counters;  // every numeric key Google Benchmark does not define itself
};

struct Run {
  std::string path;
  std::map<std::string, std::string> context;  // scalar context values, as text
  std::vector<Row> rows;
};

// Throws std::runtime_error naming `path` and what is wrong.
Run read_run(const std::string& path);
Run parse_run(const std::string& text, const std::string& path);

// Google Benchmark writes NaN and ±Infinity bare, which strict JSON parsers reject: quote
// them (outside strings) as the sentinels below, which the reader turns back into numbers.
std::string quote_non_finite(const std::string& text);
inline constexpr const char* kNaNToken = "\x01NaN";
inline constexpr const char* kInfToken = "\x01Infinity";
inline constexpr const char* kNegInfToken = "\x01-Infinity";

}  // namespace mpsfb::report
