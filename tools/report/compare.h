// mpsfb_report --compare BASE.json CONTENDER.json: what changed between two runs (torch
// versions, machines), per case and per op, counters included — which Google Benchmark's
// compare.py does not read.
//
// Cases are matched by their name without Google Benchmark's suffixes; when the two runs
// measured different devices (cuda vs mps), the device: segment is left out of the match.
#pragma once

#include "model.h"

#include <string>

namespace mpsfb::report {

std::string compare_markdown(const Model& base, const Model& contender);

}  // namespace mpsfb::report
