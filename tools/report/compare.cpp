#include "compare.h"

#include "contract/coverage.h"
#include "op_verdict.h"
#include "report.h"
#include "table.h"
#include "text.h"

#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace mpsfb::report {

namespace {

std::string match_key(const Case& c, bool with_device) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : name::split(c.name))
    if (with_device || k != segment::kDevice) parts.push_back(v.empty() ? k : k + ":" + v);
  return join(parts, "/");
}

std::set<std::string> devices(const Model& m) {
  std::set<std::string> out;
  for (const auto& c : m.cases) out.insert(c.device);
  return out;
}

std::string signed_diff(const std::optional<double>& base, const std::optional<double>& now) {
  if (!base || !now || !std::isfinite(*base) || !std::isfinite(*now)) return "—";
  const double d = *now - *base;
  const std::string s = format_short(d);
  return (d > 0 && s != "0" ? "+" : "") + s;
}

std::string transition(const std::string& a, const std::string& b) { return a == b ? a : a + " → " + b; }

// A CPU-only case reports fallback=0 without having probed anything: shown as unknown.
std::string fallback_of(const Case& c) {
  const auto f = c.counter(counters::kFallback);
  return f && on_device(c) ? format_number(*f) : "—";
}

std::string fallback_cell(const Case& a, const Case& b) { return transition(fallback_of(a), fallback_of(b)); }

// Only an auto-mode probe on a device says whether the op falls back there.
bool fallback_known(const Model& m, const FallbackStatus& s) {
  using K = FallbackStatus::Kind;
  return !emulate_run(m) && (s.kind == K::kYes || s.kind == K::kPartly || s.kind == K::kNo);
}

std::set<std::string> all_ops(const Model& base, const Model& contender) {
  std::set<std::string> ops;
  for (const auto& op : base.ops()) ops.insert(op);
  for (const auto& op : contender.ops()) ops.insert(op);
  return ops;
}

void context_table(std::ostringstream& out, const Model& base, const Model& contender) {
  Table t({{""}, {"base"}, {"contender"}});
  t.add_row({"file", join(base.files, ", "), join(contender.files, ", ")});
  for (const char* key : {context::kTorchVersion, context::kDevice, context::kDeviceName, context::kOsVersion,
                          context::kFallbackMode, gbench_context::kDate}) {
    const auto a = base.ctx(key), b = contender.ctx(key);
    t.add_row({key, a.empty() ? "—" : a, b.empty() ? "—" : b});
  }
  out << to_markdown(t) << "\n";
}

void flips_section(std::ostringstream& out, const Model& base, const Model& contender) {
  out << "## Fallback flips\n\n";
  Table t({{"op"}, {"base"}, {"contender"}, {"change"}});
  bool comparable = false;
  for (const auto& op : all_ops(base, contender)) {
    const auto a = fallback_status(base, op), b = fallback_status(contender, op);
    if (!fallback_known(base, a) || !fallback_known(contender, b)) continue;
    comparable = true;
    std::string change;
    if (a.falling > 0 && b.falling == 0)
      change = "became native";
    else if (a.falling == 0 && b.falling > 0)
      change = "started falling back";
    else if (a.falling * b.measured != b.falling * a.measured)
      change = "falls back in " + std::to_string(b.falling) + "/" + std::to_string(b.measured) + " cases (was " +
               std::to_string(a.falling) + "/" + std::to_string(a.measured) + ")";
    if (!change.empty()) t.add_row({"`" + op + "`", a.text(), b.text(), change});
  }
  if (!t.empty())
    out << to_markdown(t) << "\n";
  else if (comparable)
    out << "None: every op measured in both runs falls back (or not) as before.\n\n";
  else
    out << "Not applicable: no op has a fallback probe in both runs (CPU-only or emulate-mode runs, or no common "
           "op).\n\n";
}

// fixed: falls back -> native; regressed: native -> falls back (coverage::diff_verdicts, the one
// definition); changed: any other difference (a composite's leaves, an unsupported dtype). Ops
// without a verdict on a side are not compared.
void verdicts_section(std::ostringstream& out, const Model& base, const Model& contender) {
  out << "## Verdict changes\n\n";
  Table t({{"op"}, {"base"}, {"contender"}, {"change"}});
  std::map<std::string, std::string> before, after;  // the ops judged in both
  for (const auto& op : all_ops(base, contender)) {
    const OpVerdict a = op_verdict(base, op), b = op_verdict(contender, op);
    if (verdict_unknown(a.verdict) || verdict_unknown(b.verdict)) continue;
    before[op] = a.verdict;
    after[op] = b.verdict;
  }
  if (before.empty()) {
    out << "Not applicable: no op has a verdict in both runs (runs from before verdicts, or no common op).\n\n";
    return;
  }
  const coverage::VerdictDiff d = coverage::diff_verdicts(before, after);
  const std::set<std::string> fixed(d.fixed.begin(), d.fixed.end()), regressed(d.regressed.begin(), d.regressed.end());
  std::vector<std::vector<std::string>> rows[3];  // fixed, regressed, changed
  for (const auto& op : all_ops(base, contender)) {
    if (!before.count(op)) continue;
    const std::string was = op_verdict(base, op).text(op), now = op_verdict(contender, op).text(op);
    if (was == now) continue;
    const int kind = fixed.count(op) ? 0 : regressed.count(op) ? 1 : 2;
    rows[kind].push_back({"`" + op + "`", was, now, kind == 0 ? "fixed" : kind == 1 ? "regressed" : "changed"});
  }
  for (auto& group : rows)
    for (auto& r : group) t.add_row(std::move(r));
  const std::string torch_a = verdict_torch(base), torch_b = verdict_torch(contender);
  out << "MPS verdicts of torch " << torch_a << " (base) and torch " << torch_b << " (contender), for the "
      << before.size() << " ops judged in both.\n\n";
  if (torch_a != torch_b) {  // two verdict torches: what the newer one implemented, and lost
    auto names = [](const std::vector<std::string>& ops) {
      std::vector<std::string> c;
      for (const auto& op : ops) c.push_back("`" + op + "`");
      return c.empty() ? std::string("none") : join(c, ", ");
    };
    out << "From torch " << torch_a << " to torch " << torch_b << ": " << d.fixed.size() << " fixed ("
        << names(d.fixed) << "), " << d.regressed.size() << " regressed (" << names(d.regressed) << ").\n\n";
  }
  if (t.empty())
    out << "None: every op has the same verdict.\n\n";
  else
    out << to_markdown(t) << "\n";
}

void list_section(std::ostringstream& out, const char* title, const std::vector<std::string>& names) {
  if (names.empty()) return;
  out << "## " << title << "\n\n";
  for (const auto& n : names) out << "- `" << n << "`\n";
  out << "\n";
}

}  // namespace

std::string compare_markdown(const Model& base, const Model& contender) {
  const bool same_devices = devices(base) == devices(contender);
  std::map<std::string, const Case*> in_contender;
  for (const auto& c : contender.cases) in_contender[match_key(c, same_devices)] = &c;

  std::ostringstream out;
  out << "# Comparison\n\n";
  context_table(out, base, contender);
  out << "Cases are matched by name without Google Benchmark's suffixes"
      << (same_devices ? "" : " and without the device, since the runs measured different devices")
      << ". Changes are contender against base: times relative, penalty as the difference of the factors.\n\n";
  verdicts_section(out, base, contender);
  flips_section(out, base, contender);

  out << "## Cases\n\n";
  using namespace counters;
  const std::string cpu = kCpuUs, dev = kDevUs, penalty = kPenalty;
  Table t({{"case"},
           {"status"},
           {cpu + " base", Align::kRight},
           {cpu + " now", Align::kRight},
           {"Δ cpu", Align::kRight},
           {dev + " base", Align::kRight},
           {dev + " now", Align::kRight},
           {"Δ dev", Align::kRight},
           {penalty + " base", Align::kRight},
           {penalty + " now", Align::kRight},
           {"Δ " + penalty, Align::kRight},
           {kFallback}});
  std::vector<std::string> only_base, only_contender;
  std::set<std::string> matched;
  for (const auto& a : base.cases) {
    const std::string key = match_key(a, same_devices);
    const auto it = in_contender.find(key);
    if (it == in_contender.end()) {
      only_base.push_back(a.name);
      continue;
    }
    matched.insert(key);
    const Case& b = *it->second;
    t.add_row({"`" + key + "`", transition(to_string(a.status), to_string(b.status)),
               format_or_dash(a.counter(kCpuUs)), format_or_dash(b.counter(kCpuUs)),
               format_change(a.counter(kCpuUs), b.counter(kCpuUs)), format_or_dash(a.counter(kDevUs)),
               format_or_dash(b.counter(kDevUs)), format_change(a.counter(kDevUs), b.counter(kDevUs)),
               format_factor(a.counter(kPenalty)), format_factor(b.counter(kPenalty)),
               signed_diff(a.counter(kPenalty), b.counter(kPenalty)), fallback_cell(a, b)});
  }
  for (const auto& c : contender.cases)
    if (!matched.count(match_key(c, same_devices))) only_contender.push_back(c.name);
  out << (t.empty() ? std::string("No case is in both runs.\n\n") : to_markdown(t) + "\n");

  list_section(out, "Only in base", only_base);
  list_section(out, "Only in contender", only_contender);
  return out.str();
}

}  // namespace mpsfb::report
