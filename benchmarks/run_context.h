// What holds for a whole run, written into the JSON context once for the op suite and the
// workload alike, and where the targets file is looked up.
#pragma once

#include "op_fixture.h"

#include <string>

namespace mpsfb {

// torch version, device, OS, fallback mode, MPS build and PYTORCH_ENABLE_MPS_FALLBACK, and the
// verdicts' torch, source and the native_functions.yaml they come from (keys: contract/result.h,
// mpsfb::context).
void add_run_context(const RunContext& ctx);

// --targets as given; else ops/targets.yaml, else ops/targets.seed.yaml (with a note), looked
// up from the working directory and then from the source tree.
std::string resolve_targets_path(const std::string& requested, std::string* note);

}  // namespace mpsfb
