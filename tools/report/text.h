// String helpers and the two number styles of the report: exact (CSV) and for reading (Markdown).
#pragma once

#include "contract/result.h"

#include <optional>
#include <string>
#include <vector>

namespace mpsfb::report {

bool ends_with(const std::string& s, const std::string& suffix);
std::vector<std::string> split(const std::string& s, const std::string& sep);
using mpsfb::join;  // the contract's
// `s` for a message: control characters as \0, \n, \xNN (a NUL cut the message short).
std::string printable(const std::string& s);

// Shortest text that reads back as the same double: "100", "1.612", "50331648", "nan", "inf".
std::string format_number(double v);
// Three significant digits, no exponent in the usual range: "0.123", "1.23", "12.3", "123", "12345";
// from 1e15 on "2.00e+300" (a 301-digit integer reads as nothing).
std::string format_short(double v);
// "1.23×", "—" when absent.
std::string format_factor(const std::optional<double>& v);
// format_short or "—" when absent.
std::string format_or_dash(const std::optional<double>& v);
// Signed relative change "+12.3%", "—" when either side is missing or the base is 0.
std::string format_change(const std::optional<double>& base, const std::optional<double>& now);

}  // namespace mpsfb::report
