// Parsing a YAML text once, its syntax error as "PATH:LINE: not valid YAML: why": the readers of
// the contract's files (native_functions.yaml, the coverage history, its inputs) share it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <stdexcept>
#include <string>

namespace mpsfb {

inline YAML::Node parse_yaml(const std::string& text, const std::string& path) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
}

}  // namespace mpsfb
