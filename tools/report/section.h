// A report is a list of sections; each report mode (benchmark JSON, --mps-log, ...) is one
// function that builds its list. A section is a title, prose and a table; a ranking also
// names a CSV, written beside the summary with the same rows in exact numbers and plain names,
// so that scripts (tools/compare_runs.py) read the CSV and never the Markdown.
//
//   Section s{"Top pain"};
//   s.prose = "The ops that fall back ...\n\n";
//   s.table = Table({{"rank", Align::kRight}, {"op"}});   // shown
//   s.csv = "top_pain.csv";  s.data = Table({{"rank"}, {"op"}});  // written
//
// Adding a table to a report: one function returning its Section, and one entry in the
// mode's list (docs/reports.md, "Adding a table").
#pragma once

#include "output.h"
#include "table.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mpsfb::report {

struct Section {
  Section() = default;  // an empty section: nothing to show
  explicit Section(std::string title_) : title(std::move(title_)) {}

  std::string title;           // the "## " heading
  std::string prose;           // Markdown above the table, each paragraph ending in "\n\n"
  std::optional<Table> table;  // the Markdown table, when there is one to show
  std::string after;           // Markdown below the table
  std::string csv;             // file name beside the summary ("top_pain.csv"); "" for none
  std::optional<Table> data;   // the CSV's rows (written even when empty: the header says what it would hold)

  // Nothing to show: left out of the Markdown (its CSV, if any, is still written).
  bool empty() const { return title.empty() && prose.empty() && !table && after.empty(); }
};

// What a report mode builds: the summary's title, its opening paragraph, its sections.
struct Report {
  std::string title;
  std::string opening;  // Markdown under the title, ending in "\n\n"
  std::vector<Section> sections;
};

// "# title\n\n" + opening + every section that is not empty, in order.
std::string to_markdown(const Report& r);

// Adds the summary (to_markdown) and each section's CSV, in `csv_dir`, to `out`.
void add_report(OutputSet& out, const Report& r, const std::string& summary, const std::string& csv_dir);

}  // namespace mpsfb::report
