// libFuzzer harness: mpsfb_report's Google Benchmark JSON reader (tools/report/gbench_json.cpp)
// and everything that consumes what it reads: the model (names, aggregates, labels), the
// per-op CSVs, the summary and a compare of the run with itself.
//
// A finding is a crash, a sanitizer report, a hang, or any exception but std::runtime_error,
// the one error the reader documents ("path: what is wrong").
#include "compare.h"
#include "gbench_json.h"
#include "model.h"
#include "report.h"
#include "table.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mpsfb::report;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Run run;
  try {
    run = parse_run(text, "fuzz.json");
  } catch (const std::runtime_error&) {
    return 0;
  }
  // Past the reader nothing may throw: the report is built from what it accepted.
  const Model m = build_model({run});
  for (const auto& op : m.ops()) (void)to_csv(case_table(m.cases_of(op), false));
  std::vector<const Case*> all;
  for (const auto& c : m.cases) all.push_back(&c);
  (void)to_csv(case_table(all, true));
  (void)to_markdown(summary_report(m, SummaryOptions{}));
  (void)compare_markdown(m, m);
  return 0;
}
