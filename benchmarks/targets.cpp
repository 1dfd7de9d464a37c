#include "targets.h"

#include "contract/result.h"
#include "dtypes.h"
#include "naming.h"

#include <c10/util/hash.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace mpsfb {

std::string SourceMark::str() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

namespace {

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

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
  std::vector<std::string>& problems() { return problems_; }
  // In file order, so the list reads top to bottom like the file.
  std::vector<std::string> sorted_problems() const {
    auto position = [&](const std::string& p) {
      int line = 0, column = 0;
      std::sscanf(p.c_str() + path_.size(), ":%d:%d", &line, &column);
      return std::make_pair(line, column);
    };
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
        problem(kv.first, "unknown key '" + key + "' in " + where, "one of " + list);
      }
    }
  }

  template <class T>
  std::optional<T> scalar(const YAML::Node& n, const std::string& what, const std::string& expected) {
    if (n.IsScalar()) {
      try {
        return n.as<T>();
      } catch (const YAML::Exception&) {
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
      auto v = scalar<int64_t>(item, what + " item '" + (item.IsScalar() ? item.Scalar() : "?") + "'", "an integer");
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
      const size_t before = problems_.size();
      auto dims = ints(n, "shape", /*allow_negative=*/false);
      if (problems_.size() != before) return std::nullopt;
      return dims;
    }
    if (n.IsScalar()) {
      static const std::regex kDims("[0-9]+(x[0-9]+)*");
      const std::string s = n.Scalar();
      if (s == "scalar") return std::vector<int64_t>{};
      if (std::regex_match(s, kDims)) {
        std::vector<int64_t> dims;
        std::stringstream ss(s);
        std::string part;
        while (std::getline(ss, part, 'x')) dims.push_back(std::stoll(part));
        return dims;
      }
      problem(n, "bad shape '" + s + "'", kForm);
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
      static const std::regex kRandint(R"(randint\(\s*(-?[0-9]+)\s*,\s*(-?[0-9]+)\s*\))");
      std::smatch m;
      const std::string s = i.IsScalar() ? i.Scalar() : "";
      if (s == "randn") spec.init = Init::kRandn;
      else if (s == "rand") spec.init = Init::kRand;
      else if (s == "arange") spec.init = Init::kArange;
      else if (s == "ones") spec.init = Init::kOnes;
      else if (s == "zeros") spec.init = Init::kZeros;
      else if (s == "spd") spec.init = Init::kSpd;
      else if (std::regex_match(s, m, kRandint) && std::stoll(m[1]) < std::stoll(m[2])) {
        spec.init = Init::kRandint;
        spec.lo = std::stoll(m[1]);
        spec.hi = std::stoll(m[2]);
      } else {
        problem(i, "unknown init '" + s + "'", "randn, rand, randint(lo, hi) with lo < hi, arange, ones, zeros or spd");
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
      problem(kv.first, "unknown argument kind '" + key + "'", kForm);
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
    auto count = [&](const char* key, int64_t& out) {
      if (auto v = n[key]) {
        if (auto i = scalar<int64_t>(v, std::string("demand.") + key, "a non-negative integer")) out = *i;
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

  // What the sync recorded; informational: the run judges every case itself.
  RecordedVerdict recorded_verdict(const YAML::Node& n) {
    RecordedVerdict r;
    const char* form = "{torch: 2.13.0, verdict: falls back, via: [aten::x], source: ...}";
    if (!n.IsMap()) {
      problem(n, "mps_verdict is not a map", form);
      return r;
    }
    check_keys(n, {"torch", "verdict", "via", "source"}, "mps_verdict");
    if (auto v = n["torch"]) r.torch = string(v, "mps_verdict.torch").value_or("");
    if (auto v = n["verdict"]) {
      r.verdict = string(v, "mps_verdict.verdict").value_or("");
      if (r.verdict != verdict::kNative && r.verdict != verdict::kFallsBack && r.verdict != verdict::kUnsupportedDtype &&
          r.verdict != verdict::kUnknown)
        problem(v, "unknown verdict '" + r.verdict + "'", "native, falls back, unsupported dtype or unknown");
    }
    if (auto v = n["via"]) r.via = strings(v, "mps_verdict.via");
    if (auto v = n["source"]) r.source = string(v, "mps_verdict.source").value_or("");
    return r;
  }

  std::optional<OpTarget> op(const YAML::Node& n) {
    if (!n.IsMap()) {
      problem(n, "ops entry is not a map", "- op: aten::name[.overload] with shapes, dtypes");
      return std::nullopt;
    }
    check_keys(n,
               {"op", "shapes", "dtypes", "args", "emulate", "check", "tol_scale", "needs_fixture", "requires", "note",
                "demand", "mps_verdict"},
               "ops entry");
    OpTarget t;
    t.mark = mark(n);
    static const std::regex kOpName(R"([A-Za-z_][A-Za-z0-9_]*::[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)?)");
    if (auto name = n["op"]) {
      if (auto s = string(name, "op")) {
        if (std::regex_match(*s, kOpName))
          t.op = *s;
        else
          problem(name, "bad op name '" + *s + "'", "namespace::name[.overload], e.g. aten::isin.Tensor_Tensor");
      }
    } else {
      problem(n, "ops entry has no 'op'", "op: aten::name[.overload]");
    }
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
        problem(v, "unknown check '" + s + "'", "close or random");
    }
    if (auto v = n["tol_scale"]) {
      auto f = scalar<double>(v, "tol_scale", "a positive number");
      if (f && *f > 0)
        t.tol_scale = *f;
      else if (f)
        problem(v, "tol_scale must be positive", "a positive number, e.g. 10");
    }
    if (auto v = n["demand"]) t.demand = demand(v);
    if (auto v = n["mps_verdict"]) t.recorded_verdict = recorded_verdict(v);

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

  // The case's own tensor must fit the memory budget, for every dtype of the entry.
  bool within_budget(const YAML::Node& node, const std::vector<int64_t>& dims, const std::vector<at::ScalarType>& dtypes) {
    double numel = 1;
    for (auto d : dims) numel *= static_cast<double>(d);
    for (auto dt : dtypes) {
      const double bytes = numel * static_cast<double>(c10::elementSize(dt));
      if (bytes > static_cast<double>(options_.memory_budget_bytes)) {
        problem(node, "shape " + shape_str(dims) + " of " + dtype_name(dt) + " needs " +
                          std::to_string(static_cast<int64_t>(bytes / (1 << 20))) + " MiB, over the memory budget of " +
                          std::to_string(options_.memory_budget_bytes >> 20) + " MiB",
                "a smaller shape, or a larger --memory_budget_mb");
        return false;
      }
    }
    return true;
  }

 private:
  std::string path_;
  LoadOptions options_;
  std::vector<std::string> problems_;
};

}  // namespace

TargetsError::TargetsError(std::vector<std::string> problems)
    : std::runtime_error(std::to_string(problems.size()) + " problem(s) in the targets file:\n" + join(problems)),
      problems_(std::move(problems)) {}

std::pair<std::string, std::string> split_overload(const std::string& op) {
  const size_t ns = op.find("::");
  const size_t dot = op.find('.', ns == std::string::npos ? 0 : ns + 2);
  if (dot == std::string::npos) return {op, ""};
  return {op.substr(0, dot), op.substr(dot + 1)};
}

Targets parse_targets(const std::string& text, const std::string& path, const LoadOptions& options,
                      const OpChecker& check) {
  Targets targets;
  targets.path = path;
  targets.sha1 = c10::sha1(text).str();
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw TargetsError({path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                        ": YAML syntax error: " + e.msg});
  }
  Decoder dec(path, options);
  if (!root.IsMap()) {
    throw TargetsError({path + ":1:1: the file is not a YAML map (expected: version: 1 and ops: [...])"});
  }
  dec.check_keys(root, {"version", "generated", "ops"}, "the top level");
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
  return targets;
}

Targets load_targets(const std::string& path, const LoadOptions& options, const OpChecker& check) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TargetsError({path + ": cannot open the targets file"});
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_targets(buf.str(), path, options, check);
}

}  // namespace mpsfb
