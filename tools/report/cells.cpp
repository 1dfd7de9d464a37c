#include "cells.h"

#include "text.h"

namespace mpsfb::report {

std::string code(const std::string& s) { return "`" + s + "`"; }

std::string number_cell(const std::optional<double>& v) { return v ? format_number(*v) : std::string(); }

std::string links_cell(const std::vector<std::string>& links) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < links.size() && i < 3; ++i)
    parts.push_back("[" + std::to_string(i + 1) + "](" + links[i] + ")");
  return parts.empty() ? "—" : join(parts, " ");
}

std::string votes_cell(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "—"; }

std::string votes_csv(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string(); }

}  // namespace mpsfb::report
