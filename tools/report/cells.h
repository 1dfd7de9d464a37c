// The cells of every report mode, one helper each: a Markdown cell or prose fragment from a
// value, and the exact CSV cell. Report code builds its tables and sentences from these only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb::report {

// `s` as inline code.
std::string code(const std::string& s);
// The exact number for a CSV ("" when absent): format_number.
std::string number_cell(const std::optional<double>& v);
// "[1](url) [2](url) [3](url)": the first three links; "—" when none.
std::string links_cell(const std::vector<std::string>& links);
// The votes, "—" when unknown.
std::string votes_cell(const std::optional<int64_t>& v);
// The votes for a CSV, "" when unknown.
std::string votes_csv(const std::optional<int64_t>& v);

}  // namespace mpsfb::report
