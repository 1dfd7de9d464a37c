// Small benchmark runs built in memory, for the report's unit tests: rows as mps_benchmarks
// writes them, read back through the report's own reader (parse_run) and model.
#pragma once

#include "report/gbench_json.h"
#include "report/model.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace mpsfb::report::testing {

// One iteration row of a case; `counters` as the harness writes them, `label` "k=v; k=v".
inline nlohmann::json case_row(const std::string& name, const std::map<std::string, double>& counters,
                               const std::string& label = "") {
  nlohmann::json r = {{"name", name},         {"run_name", name},  {"run_type", "iteration"},
                      {"iterations", 1},      {"real_time", 1.0},  {"cpu_time", 1.0},
                      {"time_unit", "us"},    {"label", label}};
  for (const auto& [k, v] : counters) r[k] = v;
  return r;
}

inline std::string run_text(const nlohmann::json& context, const std::vector<nlohmann::json>& rows) {
  return nlohmann::json{{"context", context.is_null() ? nlohmann::json::object() : context}, {"benchmarks", rows}}
      .dump();
}

inline Model model_of(const nlohmann::json& context, const std::vector<nlohmann::json>& rows) {
  return build_model({parse_run(run_text(context, rows), "run.json")});
}

}  // namespace mpsfb::report::testing
