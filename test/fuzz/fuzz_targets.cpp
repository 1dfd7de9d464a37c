// libFuzzer harness: the targets decoder (benchmarks/targets.cpp) on arbitrary text, without
// the dispatcher checker (that part needs a whole LibTorch and judges valid entries only).
//
// A finding is a crash, a sanitizer report, a hang, or any exception but TargetsError: the
// decoder promises every problem of a file as TargetsError ("file:line:column: what").
// The YAML guard (yaml_guard.h) runs first inside the decoder, and again here as the status
// file and the copy model call it (no aliases allowed): it must never throw, and it bounds what
// the decoder walks (aliases expanded, keys twice).
#include "targets.h"
#include "yaml_guard.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mpsfb::YamlLimits strict;
  strict.allow_aliases = false;
  (void)mpsfb::yaml_hazard(text, "fuzz.status.yaml", strict);
  mpsfb::LoadOptions options;
  options.memory_budget_bytes = int64_t{1} << 30;
  try {
    const mpsfb::Targets t = mpsfb::parse_targets(text, "fuzz.yaml", options);
    // What the suite reads from a decoded entry, so a value the decoder let through is used.
    for (const auto& op : t.ops)
      for (const auto& shape : op.shapes)
        for (const auto dtype : op.dtypes)
          if (!mpsfb::tensor_bytes(shape, dtype)) __builtin_trap();  // the budget check let an overflow through
  } catch (const mpsfb::TargetsError&) {
  }
  return 0;
}
