#include "workload.h"

#include <stdexcept>

namespace mpsfb {

int run_workload(const CliOptions& options, const RunContext&, int, char**) {
  throw std::invalid_argument("--workload=" + options.workload + ": workloads are not built into this version yet");
}

}  // namespace mpsfb
