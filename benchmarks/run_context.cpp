#include "run_context.h"

#include "device.h"
#include "paths.h"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace mpsfb {

void add_run_context(const RunContext& ctx) {
  const char* env = std::getenv(context::kMpsFallbackEnv);
  benchmark::AddCustomContext(context::kTorchVersion, torch_version());
  benchmark::AddCustomContext(context::kDevice, ctx.device.str());
  benchmark::AddCustomContext(context::kDeviceName, device_name(ctx.device));
  benchmark::AddCustomContext(context::kOsVersion, os_version());
  benchmark::AddCustomContext(context::kFallbackMode, ctx.fallback == FallbackMode::kEmulate ? "emulate" : "auto");
  benchmark::AddCustomContext(context::kMpsFallbackEnv, env ? env : "(unset)");
  benchmark::AddCustomContext(context::kMpsBuild, ctx.mps_build ? "1" : "0");
  benchmark::AddCustomContext(context::kNativeFunctions, ctx.native_functions);
  benchmark::AddCustomContext(context::kVerdictTorch, ctx.verdicts ? ctx.verdicts->torch_version() : torch_version());
  if (ctx.verdicts) {
    benchmark::AddCustomContext(context::kVerdictSource, ctx.verdicts->yaml_source());
    benchmark::AddCustomContext(context::kVerdictId, ctx.verdicts->origin().id);
  }
}

std::string resolve_targets_path(const std::string& requested, std::string* note) {
  if (!requested.empty()) return requested;
  const auto exists = [](const std::string& p) { return std::ifstream(p).good(); };
  for (const std::string& root : {std::string("."), std::string(MPSFB_SOURCE_DIR)}) {
    if (exists(root + "/ops/targets.yaml")) return root + "/ops/targets.yaml";
    if (exists(root + "/ops/targets.seed.yaml")) {
      if (note) *note = "no ops/targets.yaml; using the curated seed " + root + "/ops/targets.seed.yaml";
      return root + "/ops/targets.seed.yaml";
    }
  }
  throw std::runtime_error("no targets file: neither ops/targets.yaml nor ops/targets.seed.yaml exists here or in " +
                           std::string(MPSFB_SOURCE_DIR) + " (pass --targets=PATH)");
}

}  // namespace mpsfb
