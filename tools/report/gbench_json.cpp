#include "gbench_json.h"

#include "regular_file.h"
#include "text.h"

#include "contract/result.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>

namespace mpsfb::report {

namespace {

using nlohmann::json;

// Keys Google Benchmark writes itself; any other numeric key of a row is a user counter.
const std::set<std::string>& builtin_numeric_keys() {
  static const std::set<std::string> keys = {
      "family_index", "per_family_instance_index", "repetitions", "repetition_index", "threads",
      "iterations", "real_time", "cpu_time", "cpu_coefficient", "real_coefficient", "rms",
      "allocs_per_iter", "max_bytes_used", "total_allocated_bytes", "net_heap_growth"};
  return keys;
}

std::optional<double> non_finite(const std::string& s) {
  if (s == kNaNToken) return std::numeric_limits<double>::quiet_NaN();
  if (s == kInfToken) return std::numeric_limits<double>::infinity();
  if (s == kNegInfToken) return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

std::optional<double> number(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return non_finite(v.get<std::string>());
  return std::nullopt;
}

std::string str(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

std::map<std::string, std::string> read_context(const json& ctx) {
  std::map<std::string, std::string> out;
  for (const auto& [key, v] : ctx.items()) {
    if (v.is_string()) {
      const auto nf = non_finite(v.get<std::string>());
      out[key] = nf ? format_number(*nf) : v.get<std::string>();
    } else if (v.is_number_integer()) {
      out[key] = std::to_string(v.get<long long>());
    } else if (v.is_number()) {
      out[key] = format_number(v.get<double>());
    } else if (v.is_boolean()) {
      out[key] = v.get<bool>() ? "true" : "false";
    }  // arrays and objects (caches, load_avg) are not reported
  }
  return out;
}

// The contract's counters: one that is present must be a number (never a string that would
// become a blank cell), and those whose row says so cannot be negative. Counter -> whether it
// must be non-negative: every case and workload counter, and Google Benchmark's own times.
const std::map<std::string, bool>& known_counters() {
  static const std::map<std::string, bool> non_negative = [] {
    std::map<std::string, bool> out = {{"real_time", true}, {"cpu_time", true}};
    for (const auto* table : {&counters::case_rows(), &counters::workload_rows()})
      for (const auto& c : *table) out[c.name] = !c.can_be_negative;
    return out;
  }();
  return non_negative;
}

// A value for a message, without nlohmann's recursive dump() of what may be nested 100,000
// deep (a stack overflow): a scalar as written, an array or object by its kind and size.
std::string shown_value(const json& v) {
  if (v.is_array()) return "an array of " + std::to_string(v.size()) + (v.size() == 1 ? " item" : " items");
  if (v.is_object()) return "an object of " + std::to_string(v.size()) + (v.size() == 1 ? " key" : " keys");
  return printable(v.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 80));
}

void check_counter(const std::string& where, const std::string& key, const json& v) {
  const auto known = known_counters().find(key);
  if (known == known_counters().end()) return;
  const auto x = number(v);
  if (!x)
    throw std::runtime_error(where + ": \"" + printable(key) + "\" is " + shown_value(v) +
                             ", not a number (expected: a number, or NaN/Infinity written bare)");
  if (known->second && *x < 0)
    throw std::runtime_error(where + ": \"" + key + "\" is " + format_number(*x) + "; it cannot be negative");
}

Row read_row(const json& b, size_t index, const std::string& path) {
  std::string where = path + ": benchmarks[" + std::to_string(index) + "]";
  if (!b.is_object()) throw std::runtime_error(where + " is not an object");
  Row r;
  r.name = str(b, "name");
  if (r.name.empty()) throw std::runtime_error(where + " has no \"name\" string");
  where += " (" + printable(r.name.substr(0, 120)) + ")";
  r.aggregate = str(b, "run_type") == "aggregate";
  r.aggregate_name = str(b, "aggregate_name");
  r.run_name = str(b, "run_name");
  if (r.run_name.empty()) {
    // Before run_name existed, an aggregate's name was "<run name>_<aggregate>".
    const std::string suffix = "_" + r.aggregate_name;
    r.run_name = r.aggregate && ends_with(r.name, suffix) ? r.name.substr(0, r.name.size() - suffix.size()) : r.name;
  }
  r.error = flag(b, "error_occurred");
  r.skipped = flag(b, "skipped");
  r.message = str(b, "error_message");
  if (r.message.empty()) r.message = str(b, "skip_message");
  r.label = str(b, "label");
  for (const auto& [key, v] : b.items()) {
    check_counter(where, key, v);
    if (builtin_numeric_keys().count(key)) continue;
    if (const auto x = number(v)) r.counters[key] = *x;
  }
  return r;
}

}  // namespace

std::string quote_non_finite(const std::string& text) {
  static const std::pair<const char*, const char*> kTokens[] = {
      {"-Infinity", "\"\\u0001-Infinity\""}, {"Infinity", "\"\\u0001Infinity\""},
      {"-NaN", "\"\\u0001NaN\""},            {"NaN", "\"\\u0001NaN\""}};
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool replaced = false;
    for (const auto& [token, quoted] : kTokens) {
      if (text.compare(i, std::char_traits<char>::length(token), token) == 0) {
        out += quoted;
        i += std::char_traits<char>::length(token) - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

namespace {

// Where the first number too large for a double is ("1e400"), outside strings: nlohmann's
// out_of_range error does not say. ":LINE:COLUMN", or "" when none is found.
std::string overflowing_number(const std::string& text, std::string* token) {
  int line = 1, column = 1;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i, ++column) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      column = 0;
    } else if (in_string) {
      if (c == '\\')
        ++i, ++column;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = i + 1;
      while (end < text.size() && std::string_view("0123456789.eE+-").find(text[end]) != std::string_view::npos) ++end;
      const std::string t = text.substr(i, end - i);
      errno = 0;
      const double v = std::strtod(t.c_str(), nullptr);
      if (errno == ERANGE && std::isinf(v)) {
        *token = t.substr(0, 40);
        return ":" + std::to_string(line) + ":" + std::to_string(column);
      }
      column += static_cast<int>(end - i) - 1;
      i = end - 1;
    }
  }
  return "";
}

}  // namespace

Run parse_run(const std::string& text, const std::string& path) {
  json doc;
  try {
    doc = json::parse(quote_non_finite(text));
  } catch (const json::parse_error& e) {
    throw std::runtime_error(path + ": malformed JSON: " + e.what());
  } catch (const json::out_of_range& e) {
    // 406: a number beyond the range of a double.
    std::string token;
    const std::string at = overflowing_number(text, &token);
    throw std::runtime_error(path + at + ": malformed JSON: " +
                             (token.empty() ? std::string(e.what())
                                            : "the number " + token + " does not fit a double (largest: 1.8e308)"));
  } catch (const json::exception& e) {
    throw std::runtime_error(path + ": malformed JSON: " + e.what());
  }
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc["benchmarks"].is_array())
    throw std::runtime_error(path + ": not Google Benchmark JSON output (expected an object with a \"benchmarks\" "
                                    "array, as written by --benchmark_out_format=json)");
  Run run;
  run.path = path;
  if (const auto ctx = doc.find("context"); ctx != doc.end()) {
    if (!ctx->is_object()) throw std::runtime_error(path + ": \"context\" is not an object");
    // Google Benchmark writes json_schema_version since 1.8.4; older files have none.
    if (const auto v = ctx->find("json_schema_version"); v != ctx->end()) {
      if (!v->is_number_integer() || v->get<long long>() != 1)
        throw std::runtime_error(path + ": context.json_schema_version is " + shown_value(*v) +
                                 "; this reader knows version 1 only");
    }
    run.context = read_context(*ctx);
  }
  const auto& benchmarks = doc["benchmarks"];
  // Each repetition of a run is one row: two with the same index would be merged into a median
  // neither measured (two files pasted together, an edited file).
  std::map<std::pair<std::string, long long>, size_t> repetition_at;
  for (size_t i = 0; i < benchmarks.size(); ++i) {
    run.rows.push_back(read_row(benchmarks[i], i, path));
    const Row& r = run.rows.back();
    const auto rep = benchmarks[i].find("repetition_index");
    if (r.aggregate || rep == benchmarks[i].end() || !rep->is_number_integer()) continue;
    const auto [at, fresh] = repetition_at.try_emplace({r.run_name, rep->get<long long>()}, i);
    if (!fresh)
      throw std::runtime_error(path + ": benchmarks[" + std::to_string(i) + "] (" + printable(r.name.substr(0, 120)) +
                               ") has repetition_index " + std::to_string(rep->get<long long>()) +
                               " like benchmarks[" + std::to_string(at->second) +
                               "] (expected: one row per repetition of a run; are two runs pasted into one file?)");
  }
  return run;
}

Run read_run(const std::string& path) {
  // A regular file only: a directory, FIFO or device is named as such, never read or waited on.
  return parse_run(read_regular_file(path, "the benchmark JSON"), path);
}

}  // namespace mpsfb::report
