// Fallback% of a workload (mps_benchmarks --workload=...): see docs/workload.md.
#pragma once

#include "cli.h"
#include "op_fixture.h"

namespace mpsfb {

// Registers and runs the workload benchmark; returns the process exit code.
int run_workload(const CliOptions& options, const RunContext& ctx, int argc, char** argv);

}  // namespace mpsfb
