// Classify: what an op's computed dispatch table says it does on a backend. Declared in
// fallback.h.
#include "fallback.h"

#include <c10/core/DispatchKey.h>

#include <string>

namespace mpsfb {

const char* to_string(DispatchEntry e) {
  switch (e) {
    case DispatchEntry::kMissing: return "missing";
    case DispatchEntry::kBackendFallback: return "backend fallback";
    case DispatchEntry::kFallbackKernel: return "MPSFallback.mm kernel";
    case DispatchEntry::kKernel: return "native kernel";
    case DispatchEntry::kComposite: return "composite";
  }
  return "?";
}

DispatchEntry classify_table_line(const std::string& line) {
  if (line.find("[backend fallback]") != std::string::npos) return DispatchEntry::kBackendFallback;
  if (line.find("[math kernel]") != std::string::npos || line.find("[default backend kernel]") != std::string::npos)
    return DispatchEntry::kComposite;
  if (line.find("[kernel]") != std::string::npos) {
    // Kernels that MPSFallback.mm registers always fall back. _slow_conv2d_forward's entry
    // there only raises a better error (reference: mps-fallback-facts.md §3).
    if (line.find("MPSFallback.mm") != std::string::npos) return DispatchEntry::kFallbackKernel;
    return DispatchEntry::kKernel;
  }
  return DispatchEntry::kMissing;
}

DispatchEntry classify(const c10::OperatorHandle& op, c10::DispatchKey key) {
  const std::string prefix = std::string(c10::toString(key)) + ": ";
  const std::string table = op.dumpComputedTable();
  size_t pos = 0;
  while (pos < table.size()) {
    size_t end = table.find('\n', pos);
    if (end == std::string::npos) end = table.size();
    if (table.compare(pos, prefix.size(), prefix) == 0) {
      const auto entry = classify_table_line(table.substr(pos, end - pos));
      const bool slow_conv = op.schema().name() == "aten::_slow_conv2d_forward";
      return entry == DispatchEntry::kFallbackKernel && slow_conv ? DispatchEntry::kKernel : entry;
    }
    pos = end + 1;
  }
  return DispatchEntry::kMissing;
}

bool has_mps_backend() {
  return c10::Dispatcher::singleton().hasBackendFallbackForDispatchKey(c10::DispatchKey::MPS);
}

}  // namespace mpsfb
