#include "cells.h"

#include "text.h"

#include <algorithm>
#include <string_view>

namespace mpsfb::report {

namespace {

std::string one_line(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

// An https URL that a Markdown link destination holds as it is.
bool linkable(const std::string& url) {
  return url.rfind("https://", 0) == 0 && url.size() > 8 &&
         url.find_first_of(" \t\r\n<>()[]`\\\"'") == std::string::npos;
}

}  // namespace

std::string text(const std::string& s) {
  std::string out;
  bool first = true;  // a '#' opens a heading only as the first character of a line or list item
  for (const char c : one_line(s)) {
    if (std::string_view("\\`[]<>").find(c) != std::string_view::npos || (c == '#' && first)) out += '\\';
    out += c;
    first = first && c == ' ';
  }
  return out;
}

std::string code(const std::string& s) {
  const std::string body = one_line(s);
  // CommonMark: a code span's fence is a backtick run longer than any run inside it.
  size_t longest = 0, run = 0;
  for (const char c : body) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  if (longest == 0) return "`" + body + "`";
  const std::string fence(longest + 1, '`');
  return fence + " " + body + " " + fence;
}

std::string number_cell(const std::optional<double>& v) { return v ? format_number(*v) : std::string(); }

std::string links_cell(const std::vector<std::string>& links) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < links.size() && i < 3; ++i)
    parts.push_back(linkable(links[i]) ? "[" + std::to_string(i + 1) + "](" + links[i] + ")" : code(links[i]));
  return parts.empty() ? "—" : join(parts, " ");
}

std::string votes_cell(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "—"; }

std::string votes_csv(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string(); }

}  // namespace mpsfb::report
