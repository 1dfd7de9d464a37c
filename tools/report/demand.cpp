#include "demand.h"

#include <stdexcept>

namespace mpsfb::report {

TargetsDemand read_demand(const std::string& path) {
  LoadOptions options;
  options.demand_only = true;
  Targets targets;
  try {
    targets = load_targets(path, options);
  } catch (const TargetsError& e) {
    // One problem reads as the report's other errors do; several come one a line, under a count.
    std::string what = e.problems().size() == 1 ? e.problems().front() : e.what();
    while (!what.empty() && what.back() == '\n') what.pop_back();
    throw std::runtime_error(what);
  }
  TargetsDemand out;
  out.path = targets.path;
  for (const auto& t : targets.ops) {
    out.ops.push_back(t.op);
    out.by_op[t.op] = t.demand.value_or(Demand{});
  }
  return out;
}

}  // namespace mpsfb::report
