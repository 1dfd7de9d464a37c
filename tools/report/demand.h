// Demand per op from a targets file (docs/targets-format.md), read by the harness's own decoder
// (benchmarks/targets.h) in its demand-only mode: op and demand are checked as for a run, every
// other key is left unread.
#pragma once

#include "targets.h"

#include <map>
#include <string>
#include <vector>

namespace mpsfb::report {

struct TargetsDemand {
  std::string path;
  std::vector<std::string> ops;         // in file order
  std::map<std::string, Demand> by_op;  // ops without demand: have an empty Demand
};

// Throws std::runtime_error on a file that cannot be read as targets: its one problem
// "path:line:column: what", or every problem, one a line.
TargetsDemand read_demand(const std::string& path);

}  // namespace mpsfb::report
