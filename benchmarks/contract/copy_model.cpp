#include "contract/copy_model.h"

#include "regular_file.h"
#include "yaml_guard.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <utility>
#include <vector>

namespace mpsfb::copy_model {

namespace {

std::string where(const std::string& path, const YAML::Mark& m) {
  return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
}

}  // namespace

Figures load(const std::string& path) {
  constexpr const char* kForm =
      "a mapping with h2d_GBps, d2h_GBps (> 0), h2d_latency_us, d2h_latency_us, sync_us (>= 0), and optionally "
      "name and sources (a list of strings)";
  // Only a regular file, never a FIFO (which would block for ever), a directory or a loop of
  // links: the reader every input file goes through (regular_file.h), which says why.
  const std::string file = read_regular_file(path, "the copy model (--copy-model=FILE)");
  if (file.find_first_not_of(" \t\r\n") == std::string::npos)
    throw std::runtime_error(path + ":1:1: the copy model is empty (expected: " + kForm + ")");
  if (auto hazard = yaml_hazard(file, path)) throw std::runtime_error(*hazard);
  YAML::Node doc;
  try {
    doc = YAML::Load(file);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(where(path, e.mark) + "malformed YAML: " + e.msg);
  }
  if (!doc.IsMap()) throw std::runtime_error(where(path, doc.Mark()) + "not a copy model (expected: " + kForm + ")");
  Figures m;
  const std::vector<std::pair<const char*, double*>> numbers = {
      {"h2d_GBps", &m.h2d_bytes_per_us},     {"d2h_GBps", &m.d2h_bytes_per_us}, {"h2d_latency_us", &m.h2d_latency_us},
      {"d2h_latency_us", &m.d2h_latency_us}, {"sync_us", &m.sync_us}};
  for (const auto& kv : doc) {
    if (!kv.first.IsScalar())
      throw std::runtime_error(where(path, kv.first.Mark()) + "a key that is not a string (expected: " + kForm + ")");
    const auto key = kv.first.Scalar();
    const bool known = key == "name" || key == "sources" || key == "version" ||
                       std::any_of(numbers.begin(), numbers.end(), [&](const auto& n) { return key == n.first; });
    if (!known) throw std::runtime_error(where(path, kv.first.Mark()) + "unknown key '" + key + "' (expected: " + kForm + ")");
  }
  for (const auto& [key, out] : numbers) {
    const YAML::Node v = doc[key];
    if (!v) throw std::runtime_error(where(path, doc.Mark()) + "missing " + key + " (expected: " + kForm + ")");
    double x = 0;
    bool ok = v.IsScalar();
    if (ok) {
      const std::string text = v.Scalar();
      size_t used = 0;
      try {
        x = std::stod(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      ok = used == text.size() && std::isfinite(x) && (std::string(key).find("GBps") != std::string::npos ? x > 0 : x >= 0);
    }
    if (!ok)
      throw std::runtime_error(where(path, v.Mark()) + key + ": expected a " +
                               (std::string(key).find("GBps") != std::string::npos ? "positive" : "non-negative") +
                               " number" + (v.IsScalar() ? ", got '" + v.Scalar() + "'" : ""));
    *out = std::string(key).find("GBps") != std::string::npos ? x * 1e3 : x;  // GB/s = 1e3 bytes per µs
  }
  m.name = std::filesystem::path(path).stem().string();
  if (const YAML::Node n = doc["name"]) {
    if (!n.IsScalar() || n.Scalar().empty())
      throw std::runtime_error(where(path, n.Mark()) + "name: expected a non-empty string");
    m.name = n.Scalar();
  }
  std::string sources;
  if (const YAML::Node s = doc["sources"]) {
    if (!s.IsSequence()) throw std::runtime_error(where(path, s.Mark()) + "sources: expected a list of strings");
    for (const auto& item : s) {
      if (!item.IsScalar()) throw std::runtime_error(where(path, item.Mark()) + "sources: expected a list of strings");
      sources += (sources.empty() ? "" : "; ") + item.Scalar();
    }
  }
  m.source = path + (sources.empty() ? "" : " (" + sources + ")");
  return m;
}

}  // namespace mpsfb::copy_model
