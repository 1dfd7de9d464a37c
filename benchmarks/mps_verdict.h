// The MPS verdict of each case, for the torch this binary links: the static one from that
// torch's own native_functions.yaml (contract/verdict.h) everywhere, and on an MPS build the
// run-time one from the probe, which stays the truth (the static one is shown beside it).
#pragma once

#include "contract/verdict.h"

#include <string>
#include <vector>

namespace mpsfb {

// Reads native_functions.yaml from `path`, or when empty from the torchgen copy beside the linked
// libtorch. Never throws: without a yaml every verdict is unknown; `context_value` is the path
// read, or "not found: <why>" (also printed once to stderr).
verdicts::Book load_verdicts(const std::string& path, std::string* context_value);

// What the probe on MPS saw: falls back via the ops that fell back, else native.
verdicts::Verdict runtime_verdict(const std::vector<std::string>& fallback_ops);

// The label fields of a case's verdict; `static_beside` (MPS runs) is the static verdict, shown
// beside the run-time one, with a finding when the two disagree.
label::Fields verdict_fields(const std::string& op, const verdicts::Verdict& v,
                             const verdicts::Verdict* static_beside = nullptr);

}  // namespace mpsfb
