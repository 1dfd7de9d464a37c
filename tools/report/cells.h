// The cells of every report mode, one helper each: a Markdown cell or prose fragment from a
// value, and the exact CSV cell. Report code builds its tables and sentences from these only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb::report {

// Text from the data (labels, error messages, context values, names) for Markdown, in prose, a
// list item or a table cell: line breaks become spaces and the characters that could start
// a heading, a link, an image, HTML or code are escaped, so that a value shows as itself and
// adds nothing to the document (issue 20, W11).
std::string text(const std::string& s);
// `s` as inline code: line breaks become spaces; a backtick in it gets a longer fence.
std::string code(const std::string& s);
// The exact number for a CSV ("" when absent): format_number.
std::string number_cell(const std::optional<double>& v);
// "[1](url) [2](url) [3](url)": the first three links; "—" when none. Only an https URL
// becomes a link; any other is shown as code (a comment's javascript: URL never is clickable).
std::string links_cell(const std::vector<std::string>& links);
// The votes, "—" when unknown.
std::string votes_cell(const std::optional<int64_t>& v);
// The votes for a CSV, "" when unknown.
std::string votes_csv(const std::optional<int64_t>& v);

}  // namespace mpsfb::report
