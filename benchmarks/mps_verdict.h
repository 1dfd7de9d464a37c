// The MPS verdict of each case: the static one (contract/verdict.h) for the torch the verdict
// flags choose (contract/verdict_source.h; none: the torch this binary links) everywhere, and on
// an MPS build the run-time one from the probe, which stays the truth (the static one is shown
// beside it).
#pragma once

#include "contract/verdict.h"
#include "contract/verdict_source.h"

#include <string>
#include <vector>

namespace mpsfb {

// The Book the flags choose; with none, the torchgen copy of native_functions.yaml beside the
// linked libtorch. A release that cannot be had is judged by the linked torch, and without any
// yaml every verdict is unknown (both said once on stderr); an explicit --native-functions or
// --torch-source that cannot be used throws verdicts::SourceError (a flag error).
// `context_value` is the yaml read, or "not found: <why>".
verdicts::Book load_verdicts(const verdicts::SourceFlags& flags, std::string* context_value);

// What the probe on MPS saw: falls back via the ops that fell back, else native.
verdicts::Verdict runtime_verdict(const std::vector<std::string>& fallback_ops);

// The label fields of a case's verdict; `static_beside` (MPS runs) is the static verdict, shown
// beside the run-time one, with a finding when the two disagree.
label::Fields verdict_fields(const std::string& op, const verdicts::Verdict& v,
                             const verdicts::Verdict* static_beside = nullptr);

}  // namespace mpsfb
