#include "demand.h"

#include "regular_file.h"

#include <yaml-cpp/yaml.h>

#include <stdexcept>

namespace mpsfb::report {

namespace {

std::string at(const std::string& path, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return path;  // yaml-cpp has no position for a missing node
  return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::optional<long long> count(const std::string& path, const YAML::Node& n, const std::string& what) {
  if (!n) return std::nullopt;
  try {
    const long long v = n.as<long long>();
    if (v >= 0) return v;
  } catch (const YAML::Exception&) {
  }
  throw std::runtime_error(at(path, n) + ": " + what + " is not a non-negative integer (got '" +
                           (n.IsScalar() ? n.Scalar() : std::string("a list or map")) + "')");
}

Demand read_one(const std::string& path, const YAML::Node& d, const std::string& op) {
  Demand out;
  if (!d) return out;
  if (!d.IsMap()) throw std::runtime_error(at(path, d) + ": demand of " + op + " is not a map (expected votes:, links:, ...)");
  out.votes = count(path, d["votes"], "demand.votes of " + op);
  out.users = count(path, d["users"], "demand.users of " + op);
  if (const auto links = d["links"]) {
    if (!links.IsSequence()) throw std::runtime_error(at(path, links) + ": demand.links of " + op + " is not a list of URLs");
    for (const auto& l : links) {
      if (!l.IsScalar()) throw std::runtime_error(at(path, l) + ": a demand.links item of " + op + " is not a URL");
      out.links.push_back(l.Scalar());
    }
  }
  return out;
}

}  // namespace

TargetsDemand read_demand(const std::string& path) {
  // A regular file only (a directory was read as a stream and failed inside yaml-cpp).
  const std::string text = read_regular_file(path, "the targets file");
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw std::runtime_error(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                             ": malformed YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + ": cannot read the targets file: " + e.what());
  }
  if (!root.IsMap()) throw std::runtime_error(path + ": not a targets file (expected a map with version: 1 and ops:)");
  if (const auto v = root["version"]; v && !(v.IsScalar() && v.Scalar() == "1"))
    throw std::runtime_error(at(path, v) + ": version is '" + (v.IsScalar() ? v.Scalar() : "?") +
                             "'; this reader knows targets version 1");
  const auto ops = root["ops"];
  if (!ops || !ops.IsSequence()) throw std::runtime_error(path + ": no 'ops:' list (docs/targets-format.md)");

  TargetsDemand out;
  out.path = path;
  for (const auto& entry : ops) {
    const auto op = entry.IsMap() ? entry["op"] : YAML::Node();
    if (!op || !op.IsScalar() || op.Scalar().empty())
      throw std::runtime_error(at(path, entry) + ": an ops item has no 'op:' name");
    const std::string name = op.Scalar();
    if (!out.by_op.count(name)) out.ops.push_back(name);
    out.by_op[name] = read_one(path, entry["demand"], name);
  }
  return out;
}

}  // namespace mpsfb::report
