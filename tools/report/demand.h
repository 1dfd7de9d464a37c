// Demand per op from a targets file (docs/targets-format.md): only op and demand.votes /
// users / links are read; every other key is tolerated, since the benchmark's own loader
// is the one that checks them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb::report {

struct Demand {
  std::optional<long long> votes, users;
  std::vector<std::string> links;  // requesting comments, newest first
};

struct TargetsDemand {
  std::string path;
  std::vector<std::string> ops;         // in file order
  std::map<std::string, Demand> by_op;  // ops without demand: have an empty Demand
};

// Throws std::runtime_error "path:line:column: what" on a file that cannot be read as targets.
TargetsDemand read_demand(const std::string& path);

}  // namespace mpsfb::report
