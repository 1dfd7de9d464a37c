#include "targets.h"

#include "contract/result.h"
#include "dtypes.h"
#include "naming.h"
#include "regular_file.h"
#include "yaml_guard.h"

#include <c10/util/hash.h>
#include <yaml-cpp/yaml.h>
#if __has_include(<yaml-cpp/depthguard.h>)
#include <yaml-cpp/depthguard.h>
#define MPSFB_YAML_HAS_DEPTH_GUARD 1
#endif

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

namespace mpsfb {

std::string SourceMark::str() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

namespace {

// Note [No regex on user text]: std::regex matches by recursion, one frame per character
// in libstdc++, so a long op name or shape string in a targets file overflowed the stack.
// Everything the loader reads from the file is scanned by hand instead, and every integer is
// parsed with its own overflow check.

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
const std::string kInt64Range = "-9223372036854775808 to 9223372036854775807";
const std::string kSizeRange = "0 to 9223372036854775807";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_ident(char c) { return is_ident_start(c) || is_digit(c); }

// Decimal digits with an optional leading '-' (when allowed), nothing else.
bool is_decimal(std::string_view s, bool allow_minus) {
  if (allow_minus && !s.empty() && s[0] == '-') s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// A decimal integer (is_decimal) into int64; false when it does not fit.
bool to_int64(std::string_view s, int64_t* out) {
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  // Accumulate as a negative number: its range holds INT64_MIN.
  int64_t v = 0;
  for (const char c : s) {
    const int digit = c - '0';
    if (v < (std::numeric_limits<int64_t>::min() + digit) / 10) return false;
    v = v * 10 - digit;
  }
  if (!negative) {
    if (v == std::numeric_limits<int64_t>::min()) return false;
    v = -v;
  }
  *out = v;
  return true;
}

// namespace::name[.overload], each part an identifier (the overload may start with a digit).
bool is_op_name(std::string_view s) {
  const size_t sep = s.find("::");
  if (sep == std::string_view::npos) return false;
  auto ident = [](std::string_view p, bool digit_first_ok) {
    return !p.empty() && (digit_first_ok ? is_ident(p[0]) : is_ident_start(p[0])) &&
           std::all_of(p.begin(), p.end(), is_ident);
  };
  const std::string_view ns = s.substr(0, sep), rest = s.substr(sep + 2);
  const size_t dot = rest.find('.');
  if (!ident(ns, false) || !ident(rest.substr(0, dot), false)) return false;
  return dot == std::string_view::npos || ident(rest.substr(dot + 1), true);
}

// A value quoted in a message, cut short when long: a message must stay readable.
std::string shown(std::string_view s) {
  constexpr size_t kShown = 60;
  if (s.size() <= kShown + 20) return "'" + std::string(s) + "'";
  return "'" + std::string(s.substr(0, kShown)) + "...' (" + std::to_string(s.size()) + " characters)";
}

// The position "file:LINE:COLUMN: ..." of a problem, for sorting; {0, 0} when it has none.
std::pair<long, long> position_of(const std::string& problem, const std::string& path) {
  if (problem.compare(0, path.size(), path) != 0) return {0, 0};
  long numbers[2] = {0, 0};
  size_t i = path.size();
  for (long& n : numbers) {
    if (i >= problem.size() || problem[i] != ':') break;
    ++i;
    for (int digits = 0; i < problem.size() && is_digit(problem[i]) && digits < 9; ++i, ++digits)
      n = n * 10 + (problem[i] - '0');
  }
  return {numbers[0], numbers[1]};
}

// Note [Nesting depth]: yaml-cpp builds the tree by recursion, one call per level; 0.7 stops at
// 500 levels (DeepRecursion, "bad file"), older versions overflow the stack. A targets file
// nests about 7 levels, so flow collections ([ and {) nested deeper than kMaxFlowDepth are
// refused before parsing, with their position. The scan recognises quotes and brackets only
// where a node can start, and comments; it can only overcount, never miss a bracket.
constexpr int kMaxFlowDepth = 256;

std::optional<std::string> too_deep(const std::string& text, const std::string& path) {
  int depth = 0, line = 1, column = 0;
  char quote = 0;          // inside '...' or "..."
  bool node_start = true;  // where a flow collection or a quoted scalar may begin
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      node_start = true;
      continue;
    }
    if (quote) {
      if (quote == '"' && c == '\\') {
        ++i;
        ++column;
      } else if (c == quote) {
        quote = 0;
        node_start = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t') continue;
    if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t')) {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
      continue;
    }
    if (node_start && (c == '"' || c == '\'')) {
      quote = c;
      continue;
    }
    if ((c == '[' || c == '{') && (node_start || depth > 0)) {
      if (++depth > kMaxFlowDepth)
        return path + ":" + std::to_string(line) + ":" + std::to_string(column) + ": nesting deeper than " +
               std::to_string(kMaxFlowDepth) + " levels (expected: a targets file nests about 7 levels)";
      node_start = true;
      continue;
    }
    if ((c == ']' || c == '}') && depth > 0) {
      --depth;
      node_start = false;
      continue;
    }
    // After these a new node starts: a sequence entry, a value, a flow item.
    node_start = c == '-' || c == ':' || c == '?' || (depth > 0 && c == ',');
  }
  return std::nullopt;
}

// "randint(lo, hi)" with spaces allowed around the numbers: the two number texts, unchecked
// for range; nullopt when the text has another form.
std::optional<std::pair<std::string_view, std::string_view>> randint_bounds(std::string_view s) {
  constexpr std::string_view kHead = "randint(";
  if (s.substr(0, kHead.size()) != kHead || s.empty() || s.back() != ')') return std::nullopt;
  s = s.substr(kHead.size(), s.size() - kHead.size() - 1);
  const size_t comma = s.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto trim = [](std::string_view t) {
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    return t;
  };
  const std::string_view lo = trim(s.substr(0, comma)), hi = trim(s.substr(comma + 1));
  if (!is_decimal(lo, true) || !is_decimal(hi, true)) return std::nullopt;
  return std::make_pair(lo, hi);
}

}  // namespace

std::optional<std::vector<int64_t>> parse_shape_text(std::string_view s, std::string* why) {
  auto fail = [&](std::string w) -> std::optional<std::vector<int64_t>> {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  if (s == "scalar") return std::vector<int64_t>{};
  std::vector<int64_t> dims;
  size_t start = 0;
  for (;;) {
    const size_t x = s.find('x', start);
    const std::string_view part = s.substr(start, x == std::string_view::npos ? std::string_view::npos : x - start);
    if (!is_decimal(part, false))
      return fail("bad shape " + shown(s));
    if (dims.size() == kMaxShapeDims)
      return fail("shape " + shown(s) + " has more than " + std::to_string(kMaxShapeDims) + " dimensions");
    int64_t v = 0;
    if (!to_int64(part, &v))
      return fail("size " + shown(part) + " in shape " + shown(s) + " does not fit int64 (allowed: " + kSizeRange + ")");
    dims.push_back(v);
    if (x == std::string_view::npos) break;
    start = x + 1;
  }
  return dims;
}

std::optional<int64_t> tensor_bytes(const std::vector<int64_t>& dims, at::ScalarType dtype) {
  // Any zero size makes an empty tensor, whatever the other sizes multiply to.
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) return 0;
  int64_t bytes = static_cast<int64_t>(c10::elementSize(dtype));
  for (const int64_t d : dims) {
    if (d < 0 || bytes > kInt64Max / d) return std::nullopt;
    bytes *= d;
  }
  return bytes;
}

namespace {

// Collects problems while decoding; each carries the node's position.
class Decoder {
 public:
  Decoder(std::string path, LoadOptions options) : path_(std::move(path)), options_(options) {}

  SourceMark mark(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    return {path_, m.line + 1, m.column + 1};
  }
  void problem(const YAML::Node& n, const std::string& what, const std::string& expected) {
    problems_.push_back(mark(n).str() + ": " + what + (expected.empty() ? "" : " (expected: " + expected + ")"));
  }
  void problem(const SourceMark& m, const std::string& what) { problems_.push_back(m.str() + ": " + what); }
  // Longer op names are not ATen's (the longest is under 100 characters).
  static constexpr size_t kMaxOpName = 256;
  std::vector<std::string>& problems() { return problems_; }
  // In file order, so the list reads top to bottom like the file.
  std::vector<std::string> sorted_problems() const {
    auto position = [&](const std::string& p) { return position_of(p, path_); };
    auto out = problems_;
    std::stable_sort(out.begin(), out.end(),
                     [&](const std::string& a, const std::string& b) { return position(a) < position(b); });
    return out;
  }

  void check_keys(const YAML::Node& map, const std::set<std::string>& allowed, const std::string& where) {
    for (const auto& kv : map) {
      const auto key = kv.first.Scalar();
      if (!allowed.count(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        problem(kv.first, "unknown key " + shown(key) + " in " + where, "one of " + list);
      }
    }
  }

  template <class T>
  std::optional<T> scalar(const YAML::Node& n, const std::string& what, const std::string& expected) {
    if (n.IsScalar()) {
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        // Decimal only, read by us: yaml-cpp reads "010" as octal 8 and "0x40" as hex, while
        // the shape string '010x064' is 10x64 (YAML 1.2 writes octal 0o10).
        if (int64_t v = 0; is_decimal(n.Scalar(), true)) {
          if (to_int64(n.Scalar(), &v) && v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max())
            return static_cast<T>(v);
          problem(n, what + " does not fit " + (sizeof(T) == 8 ? "int64" : "int32"),
                  "an integer from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
                      std::to_string(std::numeric_limits<T>::max()));
          return std::nullopt;
        }
        try {
          (void)n.as<T>();
          const std::string value = shown(n.Scalar());
          problem(n, what + (what.find(value) == std::string::npos ? " " + value : "") + " is not a decimal integer",
                  expected + " in decimal digits");
          return std::nullopt;
        } catch (const YAML::Exception&) {
        }
      } else {
        try {
          const T v = n.as<T>();
          if constexpr (std::is_floating_point_v<T>) {
            if (!std::isfinite(v)) {
              problem(n, what + " " + shown(n.Scalar()) + " is not finite", "a finite number");
              return std::nullopt;
            }
          }
          return v;
        } catch (const YAML::Exception&) {
        }
        if constexpr (std::is_floating_point_v<T>) {
          // "1e400": a number, out of range, which deserves its own words.
          const std::string& s = n.Scalar();
          char* end = nullptr;
          errno = 0;
          const double d = std::strtod(s.c_str(), &end);
          if (!s.empty() && end == s.c_str() + s.size() && errno == ERANGE && std::fabs(d) > 1) {
            problem(n, what + " " + shown(s) + " does not fit a double", "a finite number of magnitude below 1.8e308");
            return std::nullopt;
          }
        }
      }
    }
    problem(n, what + " is not " + expected, expected);
    return std::nullopt;
  }

  std::optional<std::string> string(const YAML::Node& n, const std::string& what) {
    if (n.IsScalar()) return n.Scalar();
    problem(n, what + " is not a string", "a string");
    return std::nullopt;
  }

  std::vector<std::string> strings(const YAML::Node& n, const std::string& what) {
    std::vector<std::string> out;
    if (!n.IsSequence()) {
      problem(n, what + " is not a list", "a list of strings, e.g. [a, b]");
      return out;
    }
    for (const auto& item : n)
      if (auto s = string(item, what + " item")) out.push_back(*s);
    return out;
  }

  std::vector<int64_t> ints(const YAML::Node& n, const std::string& what, bool allow_negative) {
    std::vector<int64_t> out;
    if (!n.IsSequence()) {
      problem(n, what + " is not a list of integers", "[1, 2]");
      return out;
    }
    for (const auto& item : n) {
      if (int64_t unused = 0; item.IsScalar() && is_decimal(item.Scalar(), true) && !to_int64(item.Scalar(), &unused)) {
        problem(item, what + " item " + shown(item.Scalar()) + " does not fit int64 (allowed: " +
                          (allow_negative ? kInt64Range : kSizeRange) + ")", "");
        continue;
      }
      auto v = scalar<int64_t>(item, what + " item " + (item.IsScalar() ? shown(item.Scalar()) : "'?'"), "an integer");
      if (!v) continue;
      if (!allow_negative && *v < 0) {
        problem(item, what + " has a negative size " + std::to_string(*v), "sizes >= 0");
        continue;
      }
      out.push_back(*v);
    }
    return out;
  }

  // [1, 3, 224, 224] or "1x3x224x224".
  std::optional<std::vector<int64_t>> shape(const YAML::Node& n) {
    constexpr const char* kForm = "a list of sizes like [1, 3, 224, 224] or a string like 1x3x224x224";
    if (n.IsSequence()) {
      if (n.size() > kMaxShapeDims) {
        problem(n, "shape has " + std::to_string(n.size()) + " dimensions, more than " + std::to_string(kMaxShapeDims),
                kForm);
        return std::nullopt;
      }
      const size_t before = problems_.size();
      auto dims = ints(n, "shape", /*allow_negative=*/false);
      if (problems_.size() != before) return std::nullopt;
      return dims;
    }
    if (n.IsScalar()) {
      std::string why;
      if (auto dims = parse_shape_text(n.Scalar(), &why)) return dims;
      problem(n, why, why.rfind("bad shape", 0) == 0 ? kForm : "");  // else it names the limit itself
      return std::nullopt;
    }
    problem(n, "bad shape", kForm);
    return std::nullopt;
  }

  std::optional<at::ScalarType> dtype(const YAML::Node& n) {
    auto s = string(n, "dtype");
    if (!s) return std::nullopt;
    if (auto t = parse_dtype(*s)) return t;
    problem(n, "unknown dtype '" + *s + "'", "one of " + dtype_names());
    return std::nullopt;
  }

  std::optional<TensorSpec> tensor_spec(const YAML::Node& n, bool is_self) {
    TensorSpec spec;
    if (n.IsNull()) return spec;
    if (!n.IsMap()) {
      problem(n, "tensor spec is not a map", "{shape: [..]|self, dtype: f32|self, init: randn}");
      return std::nullopt;
    }
    if (is_self)
      check_keys(n, {"init"}, "self");
    else
      check_keys(n, {"shape", "dtype", "init"}, "tensor");
    const size_t before = problems_.size();
    if (auto s = n["shape"]) {
      if (!(s.IsScalar() && s.Scalar() == "self")) spec.shape = shape(s);
    }
    if (auto d = n["dtype"]) {
      if (!(d.IsScalar() && d.Scalar() == "self")) spec.dtype = dtype(d);
    }
    if (auto i = n["init"]) {
      constexpr const char* kInits = "randn, rand, randint(lo, hi) with lo < hi, arange, ones, zeros or spd";
      const std::string s = i.IsScalar() ? i.Scalar() : "";
      if (s == "randn") spec.init = Init::kRandn;
      else if (s == "rand") spec.init = Init::kRand;
      else if (s == "arange") spec.init = Init::kArange;
      else if (s == "ones") spec.init = Init::kOnes;
      else if (s == "zeros") spec.init = Init::kZeros;
      else if (s == "spd") spec.init = Init::kSpd;
      else if (auto bounds = randint_bounds(s)) {
        int64_t lo = 0, hi = 0;
        if (!to_int64(bounds->first, &lo) || !to_int64(bounds->second, &hi)) {
          const std::string_view bad = to_int64(bounds->first, &lo) ? bounds->second : bounds->first;
          problem(i, "randint bound " + shown(bad) + " does not fit int64 (allowed: " + kInt64Range + ")", "");
        } else if (lo >= hi) {
          problem(i, "randint(" + std::to_string(lo) + ", " + std::to_string(hi) + ") needs lo < hi", kInits);
        } else {
          spec.init = Init::kRandint;
          spec.lo = lo;
          spec.hi = hi;
        }
      } else {
        problem(i, "unknown init " + shown(s), kInits);
      }
    }
    if (problems_.size() != before) return std::nullopt;
    return spec;
  }

  std::optional<ArgSpec> arg(const YAML::Node& n) {
    constexpr const char* kForm =
        "self, none, or one of {self: {init: ..}}, {tensor: {shape, dtype, init}}, {int: 1}, {float: 0.5}, "
        "{bool: true}, {ints: [1, 2]}, {str: mean}";
    ArgSpec a;
    a.mark = mark(n);
    if (n.IsScalar()) {
      if (n.Scalar() == "self") {
        a.kind = ArgSpec::Kind::kSelf;
        return a;
      }
      if (n.Scalar() == "none") {
        a.kind = ArgSpec::Kind::kNone;
        return a;
      }
    }
    if (!n.IsMap() || n.size() != 1) {
      problem(n, "malformed argument", kForm);
      return std::nullopt;
    }
    const auto kv = *n.begin();
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    const size_t before = problems_.size();
    if (key == "self" || key == "tensor") {
      a.kind = key == "self" ? ArgSpec::Kind::kSelf : ArgSpec::Kind::kTensor;
      if (auto t = tensor_spec(v, key == "self")) a.tensor = *t;
    } else if (key == "int") {
      a.kind = ArgSpec::Kind::kInt;
      if (auto i = scalar<int64_t>(v, "int argument", "an integer")) a.i = *i;
    } else if (key == "float") {
      a.kind = ArgSpec::Kind::kFloat;
      if (auto f = scalar<double>(v, "float argument", "a number")) a.f = *f;
    } else if (key == "bool") {
      a.kind = ArgSpec::Kind::kBool;
      if (auto b = scalar<bool>(v, "bool argument", "true or false")) a.b = *b;
    } else if (key == "ints") {
      a.kind = ArgSpec::Kind::kInts;
      a.ints = ints(v, "ints argument", /*allow_negative=*/true);
    } else if (key == "str") {
      a.kind = ArgSpec::Kind::kStr;
      if (auto s = string(v, "str argument")) a.s = *s;
    } else {
      problem(kv.first, "unknown argument kind " + shown(key), kForm);
    }
    if (problems_.size() != before) return std::nullopt;
    return a;
  }

  Demand demand(const YAML::Node& n) {
    Demand d;
    if (!n.IsMap()) {
      problem(n, "demand is not a map", "{votes: N, users: N, thumbs_up: N, links: [...]}");
      return d;
    }
    check_keys(n, {"votes", "users", "thumbs_up", "first_request", "last_request", "issues", "links", "use_cases"},
               "demand");
    auto count = [&](const char* key, std::optional<int64_t>& out) {
      const auto v = n[key];
      if (!v) return;
      const std::string what = std::string("demand.") + key;
      constexpr const char* kCount = "a non-negative integer";
      if (auto i = scalar<int64_t>(v, what, kCount)) {
        if (*i >= 0)
          out = *i;
        else
          problem(v, what + " is negative", kCount);
      }
    };
    count("votes", d.votes);
    count("users", d.users);
    count("thumbs_up", d.thumbs_up);
    if (auto v = n["first_request"]) d.first_request = string(v, "demand.first_request").value_or("");
    if (auto v = n["last_request"]) d.last_request = string(v, "demand.last_request").value_or("");
    if (auto v = n["issues"]) d.issues = ints(v, "demand.issues", /*allow_negative=*/false);
    if (auto v = n["links"]) d.links = strings(v, "demand.links");
    if (auto v = n["use_cases"]) d.use_cases = strings(v, "demand.use_cases");
    return d;
  }

  // What the sync recorded; informational: the run judges every case itself. Its fields are the
  // label's verdict keys without their prefix (contract: verdict::record_fields()).
  RecordedVerdict recorded_verdict(const YAML::Node& n) {
    RecordedVerdict r;
    const char* form = "{torch: 2.13.0, verdict: falls back, via: [aten::x], source: ...}";
    const std::string where = label::kMpsVerdict;
    if (!n.IsMap()) {
      problem(n, where + " is not a map", form);
      return r;
    }
    const auto& fields = verdict::record_fields();
    check_keys(n, {fields.begin(), fields.end()}, where);
    const std::string torch = verdict::kRecordTorch, verdict_key = verdict::record_field(label::kMpsVerdict),
                      via = verdict::record_field(label::kMpsVia), source = verdict::record_field(label::kVerdictSource);
    if (auto v = n[torch]) r.torch = string(v, where + "." + torch).value_or("");
    if (auto v = n[verdict_key]) {
      r.verdict = string(v, where + "." + verdict_key).value_or("");
      if (r.verdict != verdict::kNative && r.verdict != verdict::kFallsBack && r.verdict != verdict::kUnsupportedDtype &&
          r.verdict != verdict::kUnknown)
        problem(v, "unknown verdict " + shown(r.verdict), "native, falls back, unsupported dtype or unknown");
    }
    if (auto v = n[via]) r.via = strings(v, where + "." + via);
    if (auto v = n[source]) r.source = string(v, where + "." + source).value_or("");
    return r;
  }

  std::optional<OpTarget> op(const YAML::Node& n) {
    if (!n.IsMap()) {
      problem(n, "ops entry is not a map", "- op: aten::name[.overload] with shapes, dtypes");
      return std::nullopt;
    }
    if (!options_.demand_only)
      check_keys(n,
                 {"op", "shapes", "dtypes", "args", "emulate", "check", "tol_scale", "needs_fixture", "requires",
                  "note", "demand", label::kMpsVerdict},
                 "ops entry");
    OpTarget t;
    t.mark = mark(n);
    if (auto name = n["op"]) {
      if (auto s = string(name, "op")) {
        constexpr const char* kOpForm = "namespace::name[.overload], e.g. aten::isin.Tensor_Tensor";
        if (s->size() > kMaxOpName)
          problem(name, "op name of " + std::to_string(s->size()) + " characters, longer than " +
                            std::to_string(kMaxOpName), kOpForm);
        else if (is_op_name(*s))
          t.op = *s;
        else
          problem(name, "bad op name " + shown(*s), kOpForm);
      }
    } else {
      problem(n, "ops entry has no 'op'", "op: aten::name[.overload]");
    }
    if (auto v = n["demand"]) t.demand = demand(v);
    if (options_.demand_only) return t;
    if (auto v = n["needs_fixture"]) t.needs_fixture = scalar<bool>(v, "needs_fixture", "true or false").value_or(false);
    if (auto v = n["requires"]) t.requires_lib = string(v, "requires").value_or("");
    if (auto v = n["note"]) t.note = string(v, "note").value_or("");
    if (auto v = n["emulate"]) t.emulate = strings(v, "emulate");
    if (auto v = n["check"]) {
      const std::string s = v.IsScalar() ? v.Scalar() : "";
      if (s == "close")
        t.check = Check::kClose;
      else if (s == "random")
        t.check = Check::kRandom;
      else
        problem(v, "unknown check " + shown(s), "close or random");
    }
    if (auto v = n["tol_scale"]) {
      auto f = scalar<double>(v, "tol_scale", "a positive number");
      if (f && *f > 0)
        t.tol_scale = *f;
      else if (f)
        problem(v, "tol_scale must be positive", "a positive number, e.g. 10");
    }
    if (auto v = n[label::kMpsVerdict]) t.recorded_verdict = recorded_verdict(v);

    const YAML::Node dtypes = n["dtypes"];
    if (!dtypes || !dtypes.IsSequence() || dtypes.size() == 0) {
      problem(dtypes ? dtypes : n, "ops entry '" + t.op + "' has no dtypes", "dtypes: [f32, f16]");
    } else {
      for (const auto& d : dtypes)
        if (auto dt = dtype(d)) t.dtypes.push_back(*dt);
    }
    const YAML::Node shapes = n["shapes"];
    if (!shapes || !shapes.IsSequence() || shapes.size() == 0) {
      problem(shapes ? shapes : n, "ops entry '" + t.op + "' has no shapes", "shapes: [[1, 3, 224, 224], 8x1024]");
    } else {
      for (const auto& s : shapes)
        if (auto dims = shape(s); dims && within_budget(s, *dims, t.dtypes)) t.shapes.push_back(*dims);
    }
    if (auto v = n["args"]) {
      if (!v.IsSequence()) {
        problem(v, "args is not a list", "a list of arguments in schema order, e.g. [self, {int: 1}]");
      } else {
        std::vector<ArgSpec> args;
        for (const auto& a : v)
          if (auto parsed = arg(a)) args.push_back(*parsed);
        t.args = std::move(args);
      }
    }
    return t;
  }

  // The case's own tensor must fit the memory budget, for every dtype of the entry. Sizes are
  // counted in int64 with overflow checks (tensor_bytes): a shape whose size overflows is over
  // any budget, and says so.
  bool within_budget(const YAML::Node& node, const std::vector<int64_t>& dims, const std::vector<at::ScalarType>& dtypes) {
    for (auto dt : dtypes) {
      const auto bytes = tensor_bytes(dims, dt);
      if (!bytes || *bytes > options_.memory_budget_bytes) {
        const std::string need = bytes ? std::to_string(*bytes >> 20) + " MiB" : "more than 8 EiB (its size overflows int64)";
        problem(node, "shape " + abbreviated_shape(dims) + " of " + dtype_name(dt) + " needs " + need +
                          ", over the memory budget of " + std::to_string(options_.memory_budget_bytes >> 20) + " MiB",
                "a smaller shape, or a larger --memory_budget_mb");
        return false;
      }
    }
    return true;
  }

  static std::string abbreviated_shape(const std::vector<int64_t>& dims) {
    const std::string s = shape_str(dims);
    return s.size() <= 80 ? s : shown(s);
  }

 private:
  std::string path_;
  LoadOptions options_;
  std::vector<std::string> problems_;
};

}  // namespace

TargetsError::TargetsError(std::vector<std::string> problems)
    : std::runtime_error(std::to_string(problems.size()) + " problem(s) in the targets file:\n" + join(problems, "\n") + "\n"),
      problems_(std::move(problems)) {}

std::pair<std::string, std::string> split_overload(const std::string& op) {
  const size_t ns = op.find("::");
  const size_t dot = op.find('.', ns == std::string::npos ? 0 : ns + 2);
  if (dot == std::string::npos) return {op, ""};
  return {op.substr(0, dot), op.substr(dot + 1)};
}

namespace {
void decode(const YAML::Node& root, const std::string& path, const LoadOptions& options, const OpChecker& check,
            Targets& targets);
}  // namespace

Targets parse_targets(const std::string& text, const std::string& path, const LoadOptions& options,
                      const OpChecker& check) {
  Targets targets;
  targets.path = path;
  targets.sha1 = c10::sha1(text).str();
  auto at = [&](const YAML::Mark& m) {
    return m.line < 0 ? path : path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  };
  if (auto deep = too_deep(text, path)) throw TargetsError({*deep});  // Note [Nesting depth]
  // Note [YAML aliases and node counts] (yaml_guard.h): aliases and node counts bounded, no key twice.
  if (auto hazard = yaml_hazard(text, path)) throw TargetsError({*hazard});
  YAML::Node root;
  try {
    root = YAML::Load(text);
#ifdef MPSFB_YAML_HAS_DEPTH_GUARD
  } catch (const YAML::DeepRecursion& e) {
    throw TargetsError({at(e.mark) + ": nesting deeper than the YAML parser allows (" + std::to_string(e.depth()) +
                        " levels; expected: a targets file nests about 7 levels)"});
#endif
  } catch (const YAML::ParserException& e) {
    throw TargetsError({at(e.mark) + ": YAML syntax error: " + e.msg});
  } catch (const YAML::Exception& e) {
    throw TargetsError({at(e.mark) + ": YAML error: " + e.msg});
  }
  try {
    decode(root, path, options, check, targets);
  } catch (const YAML::Exception& e) {
    // The decoder checks each node's type before reading it; this is the net under that.
    throw TargetsError({at(e.mark) + ": cannot decode: " + e.msg});
  }
  return targets;
}

namespace {

void decode(const YAML::Node& root, const std::string& path, const LoadOptions& options, const OpChecker& check,
            Targets& targets) {
  Decoder dec(path, options);
  if (!root.IsMap()) {
    throw TargetsError({path + ":1:1: the file is not a YAML map (expected: version: 1 and ops: [...])"});
  }
  if (!options.demand_only) dec.check_keys(root, {"version", "generated", "ops"}, "the top level");
  if (auto v = root["version"]) {
    auto ver = dec.scalar<int>(v, "version", "1");
    if (ver && *ver != 1) dec.problem(v, "unsupported version " + std::to_string(*ver), "1");
  } else {
    dec.problem(root, "no 'version'", "version: 1");
  }
  const YAML::Node ops = root["ops"];
  if (!ops || !ops.IsSequence() || ops.size() == 0) {
    dec.problem(ops ? ops : root, "no ops", "ops: a non-empty list of entries");
  } else {
    std::set<std::string> seen;
    for (const auto& n : ops) {
      auto t = dec.op(n);
      if (!t || t->op.empty()) continue;
      if (!seen.insert(t->op).second) dec.problem(t->mark, "op '" + t->op + "' is listed twice");
      if (check)
        for (const auto& p : check(*t)) {
          if (p.rfind(path + ":", 0) == 0)
            dec.problems().push_back(p);  // already at its own position (an args: item)
          else
            dec.problem(t->mark, p);
        }
      targets.ops.push_back(std::move(*t));
    }
  }
  if (!dec.problems().empty()) throw TargetsError(dec.sorted_problems());
}

}  // namespace

Targets load_targets(const std::string& path, const LoadOptions& options, const OpChecker& check) {
  std::string text;
  try {
    text = read_regular_file(path, "the targets file");  // never a FIFO, device or directory
  } catch (const FileError& e) {
    throw TargetsError({e.what()});
  }
  return parse_targets(text, path, options, check);
}

}  // namespace mpsfb
