#include "generate.h"

#include "contract/result.h"
#include "contract/verdict.h"
#include "contract/verdict_source.h"
#include "contract/yaml_text.h"
#include "regular_file.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace mpsfb::coverage {
namespace {

namespace fs = std::filesystem;

YAML::Node load_yaml(const std::string& path, const std::string& what) {
  return parse_yaml(read_regular_file(path, what), path);
}

[[noreturn]] void fail(const std::string& path, const YAML::Node& at, const std::string& what) {
  throw std::runtime_error(path + ":" + std::to_string(at.Mark().line + 1) + ": " + what);
}

std::string text_of(const std::string& path, const YAML::Node& n, const std::string& key, const YAML::Node& in) {
  if (!n || !n.IsScalar()) fail(path, n ? n : in, key + " is missing or not a string");
  return n.as<std::string>();
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x == s) return;
  v.push_back(s);
}

}  // namespace

ReleaseInput read_release(const std::string& entry_dir, const std::string& lists_dir) {
  const std::string json = (fs::path(entry_dir) / "wheel.json").string();
  const YAML::Node w = load_yaml(json, "the cache entry's wheel.json");  // JSON is YAML
  if (!w.IsMap()) throw std::runtime_error(json + ":1: not a wheel.json object");
  ReleaseInput in;
  in.release.torch = text_of(json, w["version"], "version", w);
  in.release.wheel = text_of(json, w["wheel"], "wheel", w);
  in.release.sha256 = text_of(json, w["sha256"], "sha256", w);
  const YAML::Node files = w["files"];
  if (!files || !files.IsMap() || !files["native_functions.yaml"])
    fail(json, files ? files : w, "files has no native_functions.yaml");
  // A valid entry only: every file it lists has its sha256 (interfaces of the torch-files cache).
  for (const auto& kv : files) {
    const std::string name = kv.first.as<std::string>(), sha = text_of(json, kv.second, "a file's sha256", files);
    const std::string file = (fs::path(entry_dir) / name).string();
    if (verdicts::sha256_hex(read_regular_file(file, "a cache entry's file")) != sha)
      throw std::runtime_error(file + ": its sha256 is not the one " + json +
                               " records (a corrupt cache entry: fetch it again)");
    in.release.files[name] = sha;
  }
  in.native_functions = (fs::path(entry_dir) / "native_functions.yaml").string();
  if (in.release.files.count("common_mps.py") && !lists_dir.empty()) {
    in.unimplemented_source = (fs::path(lists_dir) / (in.release.torch + ".txt")).string();
    std::istringstream lines(read_regular_file(in.unimplemented_source, "the UNIMPLEMENTED_XFAILLIST list"));
    in.unimplemented.emplace();
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) in.unimplemented->push_back(line);
  }
  return in;
}

std::vector<SeedOp> read_seed(const std::string& path) {
  const YAML::Node doc = load_yaml(path, "the seed");
  if (!doc.IsMap() || !doc["ops"] || !doc["ops"].IsSequence()) throw std::runtime_error(path + ":1: no ops: list");
  std::vector<SeedOp> out;
  for (const auto& e : doc["ops"]) {
    if (!e.IsMap()) fail(path, e, "an ops entry is not a mapping");
    SeedOp s;
    s.op = text_of(path, e["op"], "op", e);
    if (const auto v = e["mps_verdict"]; v && v.IsMap() && v["via"] && v["via"].IsSequence())
      for (const auto& leaf : v["via"])
        if (leaf.IsScalar() && leaf.Scalar() != s.op) s.via.push_back(leaf.Scalar());
    if (const auto d = e["demand"]; d && d.IsMap() && d["votes"] && d["votes"].IsScalar())
      s.requested = d["votes"].Scalar() != "0";
    out.push_back(std::move(s));
  }
  return out;
}

OpInfoMap read_opinfo_map(const std::string& path) {
  const YAML::Node doc = load_yaml(path, "the UNIMPLEMENTED_XFAILLIST map");
  if (!doc.IsMap() || !doc["entries"] || !doc["entries"].IsSequence())
    throw std::runtime_error(path + ":1: no entries: list");
  OpInfoMap m;
  m.path = path;
  // entries: the linked torch's list; other_entries: keys only other releases list.
  for (const char* list : {"entries", "other_entries"}) {
    const YAML::Node entries = doc[list];
    if (!entries) continue;
    if (!entries.IsSequence()) fail(path, entries, std::string(list) + ": is not a list");
    for (const auto& e : entries) {
      if (!e.IsMap()) fail(path, e, "an entry is not a mapping");
      const std::string name = text_of(path, e["opinfo"], "opinfo", e);
      if (m.aten.count(name)) fail(path, e, "opinfo " + name + " is mapped twice");
      std::vector<std::string>& aten = m.aten[name];
      if (const auto a = e["aten"]) {
        if (!a.IsSequence() || a.size() == 0) fail(path, a, name + ": aten is not a non-empty list");
        for (const auto& op : a) aten.push_back(text_of(path, op, "an aten op", a));
      } else if (!e["why_not"]) {
        fail(path, e, name + ": neither aten: nor why_not:");
      }
    }
  }
  return m;
}

Coverage generate(const std::vector<ReleaseInput>& releases, const std::vector<SeedOp>& seed, const OpInfoMap& map) {
  Coverage cov;
  std::vector<std::string> minors;
  for (const auto& r : releases) {
    cov.releases.push_back(r.release);
    minors.push_back(r.release.minor());
  }
  // The ops: the seed's in its order, then the mapped lists' in the order the releases list them.
  std::map<std::string, size_t> index;
  auto op_at = [&](const std::string& name) -> Op& {
    const auto it = index.find(name);
    if (it != index.end()) return cov.ops[it->second];
    index[name] = cov.ops.size();
    cov.ops.push_back(Op{});
    cov.ops.back().op = name;
    return cov.ops.back();
  };
  for (const auto& s : seed) {
    Op& o = op_at(s.op);
    o.via = s.via;
    o.requested = o.requested || s.requested;
  }
  for (const auto& r : releases) {
    if (!r.unimplemented) continue;
    for (const auto& name : *r.unimplemented) {
      const auto it = map.aten.find(name);
      if (it == map.aten.end())
        throw std::runtime_error(map.path + ": no entry for OpInfo '" + name + "', which torch " + r.release.torch +
                                 " lists (" + r.unimplemented_source + "): map it to the aten ops that lack the "
                                 "kernel, or say why_not");
      for (const auto& op : it->second) add_unique(op_at(op).listed, r.release.minor());
    }
  }
  // Judge: the one rule, each release's own yaml; a composite by the leaves the seed recorded.
  for (const auto& r : releases) {
    const verdicts::Book book(verdicts::load_native_functions(r.native_functions), r.release.torch);
    for (auto& o : cov.ops) {
      verdicts::CallGraph calls;
      if (!o.via.empty()) calls[o.op] = {o.via.begin(), o.via.end()};
      o.verdicts[r.release.minor()] = book.judge(o.op, "f32", o.via.empty() ? nullptr : &calls).verdict;
    }
  }
  for (auto& o : cov.ops) o.native_since = first_native_through_newest(o.verdicts, minors);
  return cov;
}

std::map<std::string, std::string> yaml_verdicts(const std::string& native_functions, const std::string& torch) {
  const auto nf = verdicts::load_native_functions(native_functions);
  std::vector<std::string> names;
  for (const auto& kv : nf.entries) names.push_back("aten::" + kv.first);
  const verdicts::Book book(nf, torch);
  std::map<std::string, std::string> out;
  for (const auto& op : names) {
    const auto s = book.classify(op);
    if (s == verdicts::Static::kNative) out[op] = verdict::kNative;
    if (s == verdicts::Static::kFallsBack) out[op] = verdict::kFallsBack;
  }
  return out;
}

std::string coverage_header(const std::string& seed_path, const std::string& map_path) {
  return "# MPS coverage history: each op's MPS verdict in every torch release, and the release from which it\n"
         "# is native. Written by tools/update_coverage.sh (mpsfb_coverage generate); do not edit by hand.\n"
         "# Format and rule: docs/coverage.md.\n"
         "#\n"
         "# Ops: every op of " + seed_path + ", then every aten op that " + map_path + " maps an\n"
         "# UNIMPLEMENTED_XFAILLIST entry (value None) of any release's torch/testing/_internal/common_mps.py to.\n"
         "# Verdicts: the contract rule of benchmarks/contract/verdict.cpp, from each release's own\n"
         "# torchgen/packaged/ATen/native/native_functions.yaml (an MPS key on the entry, its structured_delegate\n"
         "# or its out= variant) and the always-fallback rows of MPSFallback.mm that rule keeps per release.\n"
         "# Composites are judged by the leaves the LINKED torch runs (the seed's mps_verdict.via, recorded by\n"
         "# mps_benchmarks --list-verdicts; written here as via:), each leaf judged by the release's yaml; a\n"
         "# composite with no recorded leaves is unknown. Kernels registered outside the yaml are not seen.\n"
         "# native_since: the first release from which the op is native through the newest (the oldest release\n"
         "# judged when it is native in all: native at least since then); null when the newest falls back.\n"
         "# listed: the releases whose UNIMPLEMENTED_XFAILLIST maps to the op; requested: demand in the seed.\n"
         "# releases[].sha256 is the wheel's, files the sha256 of each file read from it.\n";
}

}  // namespace mpsfb::coverage
