#include "op_verdict.h"

#include "text.h"

#include <algorithm>
#include <set>

namespace mpsfb::report {

std::string case_verdict(const Case& c) { return c.label_field(label::kMpsVerdict); }

bool verdict_unknown(const std::string& token) { return token.empty() || token == verdict::kUnknown; }

bool same_verdict(const std::string& a, const std::string& b) {
  return a == b || (verdict_unknown(a) && verdict_unknown(b));
}

namespace {

// Which verdict speaks for the op when its cases differ: a fallback in any case is a cost to
// someone; an unknown case may be one; an unsupported dtype says nothing about the op.
int rank(const std::string& token) {
  if (token == verdict::kFallsBack) return 0;
  if (token == verdict::kUnknown) return 1;
  if (token == verdict::kNative) return 2;
  if (token == verdict::kUnsupportedDtype) return 3;
  return 1;  // a token this report does not know: as good as unknown
}

}  // namespace

OpVerdict op_verdict(const Model& m, const std::string& op) {
  OpVerdict v;
  const auto cases = m.cases_of(op);
  for (const Case* c : cases) {
    const std::string t = case_verdict(*c);
    if (t.empty()) continue;
    if (v.verdict.empty() || rank(t) < rank(v.verdict)) v.verdict = t;
    if (t != verdict::kUnsupportedDtype) ++v.judged;
  }
  std::set<std::string> via;
  for (const Case* c : cases) {
    if (v.verdict.empty() || case_verdict(*c) != v.verdict) continue;
    ++v.deciding;
    for (const auto& o : c->label_list(label::kMpsVia)) via.insert(o);
    const std::string source = c->label_field(label::kVerdictSource);
    if (!source.empty() && std::find(v.sources.begin(), v.sources.end(), source) == v.sources.end())
      v.sources.push_back(source);
  }
  v.via.assign(via.begin(), via.end());
  return v;
}

std::string OpVerdict::text(const std::string& op) const {
  if (verdict.empty()) return std::string(verdict::kUnknown) + " (no verdict in this run)";
  std::string out = verdict::text(verdict, op, via);
  if (verdict != verdict::kUnsupportedDtype && deciding < judged)
    out += " (" + std::to_string(deciding) + " of " + std::to_string(judged) + " cases)";
  return out;
}

std::string OpVerdict::source() const { return sources.empty() ? "—" : join(sources, "; "); }

std::string verdict_torch(const Model& m) {
  for (const char* key : {context::kVerdictTorch, context::kTorchVersion})
    if (const std::string v = m.ctx(key); !v.empty()) return v;
  return "?";
}

}  // namespace mpsfb::report
