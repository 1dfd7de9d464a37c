#include "section.h"

#include <filesystem>

namespace mpsfb::report {

std::string to_markdown(const Report& r) {
  std::string out = "# " + r.title + "\n\n" + r.opening;
  for (const Section& s : r.sections) {
    if (s.empty()) continue;
    out += "## " + s.title + "\n\n" + s.prose;
    if (s.table) out += to_markdown(*s.table) + "\n";
    out += s.after;
  }
  return out;
}

void add_report(OutputSet& out, const Report& r, const std::string& summary, const std::string& csv_dir) {
  for (const Section& s : r.sections)
    if (!s.csv.empty() && s.data) out.add((std::filesystem::path(csv_dir) / s.csv).string(), to_csv(*s.data));
  out.add(summary, to_markdown(r));
}

}  // namespace mpsfb::report
