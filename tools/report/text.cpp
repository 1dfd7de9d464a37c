#include "text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace mpsfb::report {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    if (at == std::string::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, at - start));
    start = at + sep.size();
  }
}

std::string printable(const std::string& s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\0') {
      out += "\\0";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return out;
}

namespace {

std::string printf_double(const char* fmt, int precision, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, precision, v);
  return buf;
}

std::string non_finite_text(double v) {
  if (std::isnan(v)) return "nan";
  return v > 0 ? "inf" : "-inf";
}

// "-0", "-0.00" read as noise in a table; print them unsigned.
std::string drop_negative_zero(std::string s) {
  if (!s.empty() && s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

}  // namespace

std::string format_number(double v) {
  if (!std::isfinite(v)) return non_finite_text(v);
  // %.Ne is correctly rounded on glibc and macOS; the first N that round-trips is the shortest.
  int p = 1;
  while (p < 17 && std::strtod(printf_double("%.*e", p - 1, v).c_str(), nullptr) != v) ++p;
  // The same p significant digits without an exponent ("60000", not "6e+04"), within reason.
  const std::string sci = printf_double("%.*e", p - 1, v);
  const int exponent = std::atoi(sci.c_str() + sci.find('e') + 1);
  if (exponent < -6 || exponent > 20) return sci;
  return drop_negative_zero(printf_double("%.*f", std::max(0, p - 1 - exponent), v));
}

std::string format_short(double v) {
  if (!std::isfinite(v)) return non_finite_text(v);
  const double a = std::fabs(v);
  std::string s;
  if (a == 0)
    s = "0";
  else if (a >= 1e15)
    s = printf_double("%.*e", 2, v);
  else if (a >= 99.95)
    s = printf_double("%.*f", 0, v);
  else if (a >= 9.995)
    s = printf_double("%.*f", 1, v);
  else if (a >= 0.9995)
    s = printf_double("%.*f", 2, v);
  else if (a >= 0.01)
    s = printf_double("%.*f", 3, v);
  else
    s = printf_double("%.*g", 2, v);
  return drop_negative_zero(s);
}

std::string format_factor(const std::optional<double>& v) {
  return v ? format_short(*v) + "×" : "—";
}

std::string format_or_dash(const std::optional<double>& v) { return v ? format_short(*v) : "—"; }

std::string format_change(const std::optional<double>& base, const std::optional<double>& now) {
  if (!base || !now || *base == 0 || !std::isfinite(*base) || !std::isfinite(*now)) return "—";
  const double pct = (*now - *base) / std::fabs(*base) * 100.0;
  const std::string s = format_short(pct);
  return (pct > 0 && s != "0" ? "+" : "") + s + "%";
}

}  // namespace mpsfb::report
