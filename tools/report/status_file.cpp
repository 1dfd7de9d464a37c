#include "status_file.h"

#include "op_verdict.h"
#include "report.h"
#include "text.h"
#include "yaml_guard.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>

namespace mpsfb::report {

namespace {

// The status file's own keys; an entry's verdict and machine fields are named as in the run.
namespace key {
constexpr const char* kVersion = "version";
constexpr const char* kOps = "ops";
constexpr const char* kStatus = "status";
constexpr const char* kCases = "cases";
constexpr const char* kFallingBack = "falling_back";
constexpr const char* kError = "error";
}  // namespace key

struct Entry {
  std::string status;  // falls back | partly falls back | native | emulated | not emulated | error | skipped
  std::vector<std::string> fallback_ops;
  long long cases = 0, falling_back = 0;  // device cases probed / that fell back
  std::string mps_verdict, verdict_source;  // the op's MPS verdict in torch_version (empty: the run had none)
  std::vector<std::string> mps_via;
  std::string error;
  std::string torch_version, os_version, device, device_name, fallback_mode, date;

  auto machine() const { return std::tie(device, device_name, os_version, torch_version, fallback_mode); }
};

std::string scalar(const YAML::Node& map, const char* key) {
  const auto n = map[key];
  return n && n.IsScalar() ? n.Scalar() : std::string();
}

std::vector<std::string> list(const YAML::Node& map, const char* key) {
  std::vector<std::string> out;
  if (const auto n = map[key]; n && n.IsSequence())
    for (const auto& item : n) out.push_back(item.as<std::string>());
  return out;
}

std::map<std::string, std::vector<Entry>> decode(const std::string& text, const std::string& path) {
  std::map<std::string, std::vector<Entry>> out;
  if (text.empty()) return out;
  // Note [YAML aliases and node counts]: the file is ours and never holds an alias; one here
  // would be expanded by this decoder and written out again expanded.
  YamlLimits limits;
  limits.allow_aliases = false;
  if (auto hazard = yaml_hazard(text, path, limits))
    throw std::runtime_error(*hazard + " (delete the status file to start over)");
  try {
    const YAML::Node root = YAML::Load(text);
    if (!root.IsMap() || scalar(root, key::kVersion) != "1" || (root[key::kOps] && !root[key::kOps].IsMap()))
      throw std::runtime_error("not a status file (expected version: 1 and an ops: map)");
    for (const auto& kv : root[key::kOps]) {
      if (!kv.second.IsSequence()) throw std::runtime_error("ops." + kv.first.Scalar() + " is not a list of entries");
      for (const auto& n : kv.second) {
        if (!n.IsMap()) throw std::runtime_error("an entry of ops." + kv.first.Scalar() + " is not a map");
        Entry e;
        e.status = scalar(n, key::kStatus);
        e.fallback_ops = list(n, label::kFallbackOps);
        e.cases = n[key::kCases] ? n[key::kCases].as<long long>() : 0;
        e.falling_back = n[key::kFallingBack] ? n[key::kFallingBack].as<long long>() : 0;
        e.mps_verdict = scalar(n, label::kMpsVerdict);
        e.mps_via = list(n, label::kMpsVia);
        e.verdict_source = scalar(n, label::kVerdictSource);
        e.error = scalar(n, key::kError);
        e.torch_version = scalar(n, context::kTorchVersion);
        e.os_version = scalar(n, context::kOsVersion);
        e.device = scalar(n, context::kDevice);
        e.device_name = scalar(n, context::kDeviceName);
        e.fallback_mode = scalar(n, context::kFallbackMode);
        e.date = scalar(n, gbench_context::kDate);
        out[kv.first.Scalar()].push_back(std::move(e));
      }
    }
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + ": cannot read the existing status file: " + e.what());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what() + " (delete it to start over)");
  }
  return out;
}

Entry entry_for(const Model& run, const std::string& op) {
  const FallbackStatus s = fallback_status(run, op);
  Entry e;
  using K = FallbackStatus::Kind;
  switch (s.kind) {
    case K::kYes:
      e.status = "falls back";
      break;
    case K::kPartly:
      e.status = "partly falls back";
      break;
    case K::kNo:
      e.status = emulate_run(run) ? "not emulated" : "native";  // emulate mode: the device's own kernel ran
      break;
    case K::kEmulated:
      e.status = "emulated";
      break;
    case K::kCpuOnly:
      e.status = "cpu only";
      break;
    case K::kNoData:
      e.status = s.no_data_reason;
      break;
  }
  e.fallback_ops = s.fallback_ops;
  e.cases = static_cast<long long>(s.measured);
  e.falling_back = static_cast<long long>(s.falling);
  const OpVerdict v = op_verdict(run, op);
  e.mps_verdict = v.verdict;
  if (!v.verdict.empty()) e.verdict_source = v.source();
  e.mps_via = v.via;
  for (const Case* c : run.cases_of(op))
    if (c->status != Status::kOk && e.error.empty()) e.error = c->error;
  if (s.kind != K::kNoData) e.error.clear();  // a failed case among working ones is in the report, not here
  e.torch_version = run.ctx(context::kTorchVersion);
  e.os_version = run.ctx(context::kOsVersion);
  e.device = run.ctx(context::kDevice);
  e.device_name = run.ctx(context::kDeviceName);
  e.fallback_mode = run.ctx(context::kFallbackMode);
  e.date = run.ctx(gbench_context::kDate);
  return e;
}

void emit(YAML::Emitter& y, const char* key, const std::string& value) {
  if (!value.empty()) y << YAML::Key << key << YAML::Value << value;
}

std::string encode(const std::map<std::string, std::vector<Entry>>& ops) {
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << key::kVersion << YAML::Value << 1 << YAML::Key << key::kOps << YAML::Value
    << YAML::BeginMap;
  for (const auto& [op, entries] : ops) {
    y << YAML::Key << op << YAML::Value << YAML::BeginSeq;
    for (const auto& e : entries) {
      y << YAML::BeginMap;
      emit(y, key::kStatus, e.status);
      y << YAML::Key << label::kFallbackOps << YAML::Value << YAML::Flow << e.fallback_ops;
      y << YAML::Key << key::kCases << YAML::Value << e.cases;
      y << YAML::Key << key::kFallingBack << YAML::Value << e.falling_back;
      if (!e.mps_verdict.empty()) {
        emit(y, label::kMpsVerdict, e.mps_verdict);
        y << YAML::Key << label::kMpsVia << YAML::Value << YAML::Flow << e.mps_via;
        emit(y, label::kVerdictSource, e.verdict_source);
      }
      emit(y, key::kError, e.error);
      emit(y, context::kTorchVersion, e.torch_version);
      emit(y, context::kOsVersion, e.os_version);
      emit(y, context::kDevice, e.device);
      emit(y, context::kDeviceName, e.device_name);
      emit(y, context::kFallbackMode, e.fallback_mode);
      emit(y, gbench_context::kDate, e.date);
      y << YAML::EndMap;
    }
    y << YAML::EndSeq;
  }
  y << YAML::EndMap << YAML::EndMap;
  if (!y.good()) throw std::logic_error(std::string("status file emitter: ") + y.GetLastError());
  return std::string(
             "# Local status of the ops in the targets file beside this one, per machine and torch version.\n"
             "# Written by `mpsfb_report --update-targets` (docs/reports.md); do not edit. The targets file\n"
             "# itself is never rewritten, so its comments survive.\n") +
         y.c_str() + "\n";
}

}  // namespace

std::string status_path_for(const std::string& targets_path) {
  for (const char* ext : {".yaml", ".yml"}) {
    const std::string e(ext);
    if (targets_path.size() > e.size() && targets_path.compare(targets_path.size() - e.size(), e.size(), e) == 0)
      return targets_path.substr(0, targets_path.size() - e.size()) + ".status" + e;
  }
  return targets_path + ".status.yaml";
}

std::string updated_status(const std::string& existing, const std::string& status_path, const TargetsDemand& targets,
                           const Model& run, std::vector<std::string>* notes) {
  if (std::none_of(run.cases.begin(), run.cases.end(), [](const Case& c) { return on_device(c); }))
    throw std::runtime_error(join(run.files, ", ") + ": the run measured the CPU only (device cpu), which says nothing "
                             "about the fallback; record a run on mps (or cuda) instead");
  auto ops = decode(existing, status_path);
  for (const auto& op : run.ops()) {
    if (!targets.by_op.count(op)) {
      if (notes) notes->push_back(op + " is not in " + targets.path + ": not recorded");
      continue;
    }
    Entry fresh = entry_for(run, op);
    auto& entries = ops[op];
    const auto same = std::find_if(entries.begin(), entries.end(),
                                   [&](const Entry& e) { return e.machine() == fresh.machine(); });
    if (same != entries.end())
      *same = std::move(fresh);
    else
      entries.push_back(std::move(fresh));
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.machine() < b.machine(); });
  }
  return encode(ops);
}

}  // namespace mpsfb::report
