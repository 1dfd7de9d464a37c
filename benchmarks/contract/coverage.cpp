#include "coverage.h"

#include "contract/result.h"
#include "contract/yaml_text.h"
#include "regular_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <stdexcept>

namespace mpsfb::coverage {
namespace {

[[noreturn]] void fail(const std::string& path, const YAML::Node& at, const std::string& what) {
  throw std::runtime_error(path + ":" + std::to_string(at.Mark().line + 1) + ": " + what);
}

std::string scalar(const std::string& path, const YAML::Node& n, const std::string& what) {
  if (!n || !n.IsScalar()) fail(path, n ? n : YAML::Node(), what + " is not a string");
  return n.as<std::string>();
}

std::vector<std::string> strings(const std::string& path, const YAML::Node& n, const std::string& what) {
  if (!n.IsSequence()) fail(path, n, what + " is not a list");
  std::vector<std::string> out;
  for (const auto& item : n) out.push_back(scalar(path, item, what + " item"));
  return out;
}

void known_keys(const std::string& path, const YAML::Node& map, const std::set<std::string>& allowed,
                const std::string& where) {
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) fail(path, kv.first, "unknown key '" + key + "' in " + where);
  }
}

bool is_token(const std::string& v) {
  return v == verdict::kNative || v == verdict::kFallsBack || v == verdict::kUnsupportedDtype ||
         v == verdict::kUnknown;
}

// Double-quoted YAML: the texts written are op names, versions, hex and wheel names.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string flow_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quoted(items[i]);
  return out + "]";
}

Release parse_release(const std::string& path, const YAML::Node& n) {
  if (!n.IsMap()) fail(path, n, "a release is not a mapping {torch, wheel, sha256, files}");
  known_keys(path, n, {"torch", "wheel", "sha256", "files"}, "a release");
  Release r;
  r.torch = scalar(path, n["torch"], "releases[].torch");
  r.wheel = scalar(path, n["wheel"], "releases[].wheel");
  r.sha256 = scalar(path, n["sha256"], "releases[].sha256");
  if (const auto f = n["files"]) {
    if (!f.IsMap()) fail(path, f, "releases[].files is not a mapping of file name to sha256");
    for (const auto& kv : f) r.files[kv.first.as<std::string>()] = scalar(path, kv.second, "a file's sha256");
  }
  return r;
}

}  // namespace

std::string minor_of(const std::string& version) {
  const size_t first = version.find('.');
  if (first == std::string::npos) return version;
  const size_t second = version.find('.', first + 1);
  return second == std::string::npos ? version : version.substr(0, second);
}

std::string Release::minor() const { return minor_of(torch); }

std::optional<std::string> first_native_through_newest(const std::map<std::string, std::string>& verdicts,
                                                       const std::vector<std::string>& releases_oldest_first) {
  std::optional<std::string> since;
  for (auto it = releases_oldest_first.rbegin(); it != releases_oldest_first.rend(); ++it) {
    const auto v = verdicts.find(*it);
    if (v == verdicts.end() || v->second != verdict::kNative) break;
    since = *it;
  }
  return since;
}

const Op* Coverage::find(const std::string& op) const {
  for (const auto& o : ops)
    if (o.op == op) return &o;
  return nullptr;
}

std::optional<std::string> Coverage::native_since(const std::string& op) const {
  const Op* o = find(op);
  return o ? o->native_since : std::nullopt;
}

std::string Coverage::verdict(const std::string& op, const std::string& release) const {
  const Op* o = find(op);
  if (!o) return {};
  const auto it = o->verdicts.find(minor_of(release));
  return it == o->verdicts.end() ? std::string() : it->second;
}

Coverage parse_coverage(const std::string& text, const std::string& path) {
  const YAML::Node doc = parse_yaml(text, path);
  if (!doc.IsMap()) throw std::runtime_error(path + ":1: not a coverage file (expected: releases: and ops:)");
  known_keys(path, doc, {"releases", "ops"}, "the file");
  Coverage cov;
  cov.path = path;
  const auto releases = doc["releases"];
  if (!releases || !releases.IsSequence() || releases.size() == 0)
    fail(path, releases ? releases : doc, "releases: is not a non-empty list");
  std::vector<std::string> minors;
  for (const auto& r : releases) {
    cov.releases.push_back(parse_release(path, r));
    if (std::find(minors.begin(), minors.end(), cov.releases.back().minor()) != minors.end())
      fail(path, r, "release " + cov.releases.back().torch + " is listed twice");
    minors.push_back(cov.releases.back().minor());
  }
  const auto ops = doc["ops"];
  if (!ops || !ops.IsSequence()) fail(path, ops ? ops : doc, "ops: is not a list");
  std::set<std::string> seen;
  for (const auto& n : ops) {
    if (!n.IsMap()) fail(path, n, "an ops entry is not a mapping");
    known_keys(path, n, {"op", "verdicts", "native_since", "via", "listed", "requested"}, "an ops entry");
    Op o;
    o.line = n.Mark().line + 1;
    o.op = scalar(path, n["op"], "op");
    if (!seen.insert(o.op).second) fail(path, n, o.op + " is listed twice");
    const auto v = n["verdicts"];
    if (!v || !v.IsMap()) fail(path, v ? v : n, o.op + ": verdicts is not a mapping of release to verdict");
    for (const auto& kv : v) {
      const std::string release = kv.first.as<std::string>();
      if (std::find(minors.begin(), minors.end(), release) == minors.end())
        fail(path, kv.first, o.op + ": verdict for " + release + ", which releases: does not list");
      const std::string token = scalar(path, kv.second, o.op + ": a verdict");
      if (!is_token(token))
        fail(path, kv.second, o.op + ": verdict '" + token + "' (expected native, falls back, unsupported dtype or unknown)");
      o.verdicts[release] = token;
    }
    if (const auto s = n["native_since"]; s && !s.IsNull()) o.native_since = scalar(path, s, "native_since");
    if (o.native_since != first_native_through_newest(o.verdicts, minors))
      fail(path, n["native_since"] ? n["native_since"] : n,
           o.op + ": native_since " + o.native_since.value_or("null") + " disagrees with its verdicts (they say " +
               first_native_through_newest(o.verdicts, minors).value_or("null") + ")");
    if (const auto x = n["via"]) o.via = strings(path, x, o.op + ": via");
    if (const auto x = n["listed"]) o.listed = strings(path, x, o.op + ": listed");
    if (const auto x = n["requested"]) {
      if (!x.IsScalar() || (x.Scalar() != "true" && x.Scalar() != "false"))
        fail(path, x, o.op + ": requested is not true or false");
      o.requested = x.Scalar() == "true";
    }
    cov.ops.push_back(std::move(o));
  }
  return cov;
}

Coverage load_coverage(const std::string& path) {
  return parse_coverage(read_regular_file(path, "the coverage file"), path);
}

std::string format_coverage(const Coverage& cov, const std::string& header) {
  std::ostringstream out;
  out << header;
  if (!header.empty() && header.back() != '\n') out << '\n';
  out << "releases:\n";
  for (const auto& r : cov.releases) {
    out << "  - {torch: " << quoted(r.torch) << ", wheel: " << quoted(r.wheel) << ", sha256: " << quoted(r.sha256);
    if (!r.files.empty()) {
      out << ",\n     files: {";
      bool first = true;
      for (const auto& [name, sha] : r.files) {
        out << (first ? "" : ", ") << quoted(name) << ": " << quoted(sha);
        first = false;
      }
      out << "}";
    }
    out << "}\n";
  }
  out << "ops:\n";
  for (const auto& o : cov.ops) {
    out << "  - op: " << quoted(o.op) << "\n    verdicts: {";
    bool first = true;
    for (const auto& r : cov.releases) {
      const auto it = o.verdicts.find(r.minor());
      if (it == o.verdicts.end()) continue;
      out << (first ? "" : ", ") << quoted(it->first) << ": " << quoted(it->second);
      first = false;
    }
    out << "}\n    native_since: " << (o.native_since ? quoted(*o.native_since) : "null") << "\n";
    if (o.requested) out << "    requested: true\n";
    if (!o.listed.empty()) out << "    listed: " << flow_list(o.listed) << "\n";
    if (!o.via.empty()) out << "    via: " << flow_list(o.via) << "\n";
  }
  return out.str();
}

VerdictDiff diff_verdicts(const std::map<std::string, std::string>& before,
                          const std::map<std::string, std::string>& after) {
  VerdictDiff d;
  for (const auto& [op, was] : before) {
    const auto it = after.find(op);
    if (it == after.end()) continue;
    if (was == verdict::kFallsBack && it->second == verdict::kNative) d.fixed.push_back(op);
    if (was == verdict::kNative && it->second == verdict::kFallsBack) d.regressed.push_back(op);
  }
  return d;
}

}  // namespace mpsfb::coverage
