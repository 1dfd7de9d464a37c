// One MPS verdict per op, gathered from its cases' labels (mps_verdict, mps_via,
// verdict_source: benchmarks/contract/result.h). The harness judges each case, since a
// case's dtype may be one MPS cannot hold; the ranking, the status file and the compare need
// one answer per op.
//
//   const OpVerdict v = op_verdict(model, "aten::adaptive_avg_pool3d");
//   v.verdict == verdict::kFallsBack;  v.text(op) == "falls back via aten::_adaptive_avg_pool3d"
#pragma once

#include "model.h"

#include <string>
#include <vector>

namespace mpsfb::report {

// The case's verdict token; "" when its label has none (a run from before verdicts).
std::string case_verdict(const Case& c);
// No verdict, or the token "unknown": nothing is known about MPS, so nothing is left out for it.
bool verdict_unknown(const std::string& token);
// Equal tokens, "" and "unknown" counting as one.
bool same_verdict(const std::string& a, const std::string& b);

struct OpVerdict {
  // Over the cases that carry a verdict, any status: falls back if any case falls back; else
  // unknown if any is unknown; else native if any is native; else unsupported dtype. "" when
  // no case carries one.
  std::string verdict;
  std::vector<std::string> via;      // union of mps_via over the deciding cases, sorted
  std::vector<std::string> sources;  // their distinct verdict_source values, in case order
  size_t deciding = 0;               // cases with `verdict`
  size_t judged = 0;                 // cases with a verdict about the op (unsupported dtype is about the dtype)

  // verdict::text, "(k of n cases)" when other cases decided otherwise; "unknown (no verdict in this run)".
  std::string text(const std::string& op) const;
  std::string source() const;  // the sources joined by "; ", "—" when none
};
OpVerdict op_verdict(const Model& m, const std::string& op);

// The torch the verdicts are for: context verdict_torch, else torch_version; "?" when neither.
std::string verdict_torch(const Model& m);

}  // namespace mpsfb::report
