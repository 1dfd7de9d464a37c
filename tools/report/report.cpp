#include "report.h"

#include "cells.h"
#include "contract/verdict.h"
#include "op_verdict.h"
#include "stats.h"
#include "text.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

namespace mpsfb::report {

bool on_device(const Case& c) { return c.device != "cpu"; }

bool emulate_run(const Model& m) { return m.ctx(context::kFallbackMode) == "emulate"; }

bool through_fallback(const Case& c) {
  const auto f = c.counter(counters::kFallback);
  return on_device(c) && ((f && *f != 0) || !c.label_list(label::kEmulatedOps).empty());
}

std::string FallbackStatus::text() const {
  switch (kind) {
    case Kind::kYes:
      return "yes";
    case Kind::kPartly:
      return "yes (" + std::to_string(falling) + "/" + std::to_string(measured) + " cases)";
    case Kind::kNo:
      return "no";
    case Kind::kEmulated:
      return falling == measured ? "emulated"
                                 : "emulated (" + std::to_string(falling) + "/" + std::to_string(measured) + " cases)";
    case Kind::kCpuOnly:
      return "n/a (cpu run)";
    case Kind::kNoData:
      return no_data_reason.empty() ? "error" : no_data_reason;
  }
  return "?";
}

FallbackStatus fallback_status(const Model& m, const std::string& op) {
  FallbackStatus s;
  std::set<std::string> inner;
  bool any_ok = false, any_error = false;
  for (const Case* c : m.cases_of(op)) {
    if (c->status != Status::kOk) {
      any_error = any_error || c->status == Status::kError;
      continue;
    }
    any_ok = true;
    if (!on_device(*c)) continue;
    const auto f = c->counter(counters::kFallback);
    if (!f) continue;
    ++s.measured;
    if (*f != 0) {
      ++s.falling;
      for (const auto& o : c->label_list(label::kFallbackOps)) inner.insert(o);
    }
  }
  s.fallback_ops.assign(inner.begin(), inner.end());
  if (!any_ok) {
    s.kind = FallbackStatus::Kind::kNoData;
    s.no_data_reason = any_error ? "error" : "skipped";
  } else if (s.measured == 0) {
    s.kind = FallbackStatus::Kind::kCpuOnly;
  } else if (s.falling == 0) {
    s.kind = FallbackStatus::Kind::kNo;  // in emulate mode too: the verdict said native, so it ran natively
  } else if (emulate_run(m)) {
    s.kind = FallbackStatus::Kind::kEmulated;
  } else {
    s.kind = s.falling == s.measured ? FallbackStatus::Kind::kYes : FallbackStatus::Kind::kPartly;
  }
  return s;
}

std::optional<double> case_noise(const Case& c) {
  std::optional<double> worst;
  for (const auto& [key, side] : counters::noise_sides())
    if (const auto n = c.counter(key); n && !std::isnan(*n)) worst = worst ? std::max(*worst, *n) : *n;
  return worst;
}

bool noisy(const Case& c) {
  const auto n = case_noise(c);
  return c.status == Status::kOk && n && *n > counters::kNoisyAbove;
}

// The columns come from the contract's rows: its counters by column group, then its label keys
// that are case columns.
Table case_table(const std::vector<const Case*>& cases, bool with_op) {
  const auto counters_in = [](counters::Column group) {
    std::vector<const char*> out;
    for (const auto& c : counters::case_rows())
      if (c.column == group) out.push_back(c.name);
    return out;
  };
  static const std::vector<const char*> kTimes = counters_in(counters::Column::kMeasured);
  static const std::vector<const char*> kCounts = counters_in(counters::Column::kCounts);
  static const std::vector<const char*> kLast = counters_in(counters::Column::kLast);
  static const std::vector<const char*> kLabels = [] {
    std::vector<const char*> out;
    for (const auto& k : label::keys())
      if (k.case_column) out.push_back(k.name);
    return out;
  }();
  std::vector<Column> cols;
  if (with_op) cols.push_back({segment::kOp});
  for (const char* h : {segment::kShape, segment::kDtype, segment::kDevice}) cols.push_back({h});
  for (const char* h : kTimes) cols.push_back({h});
  cols.push_back({"noisy"});
  for (const char* h : kCounts) cols.push_back({h});
  for (const char* h : kLabels) cols.push_back({h});
  for (const char* h : kLast) cols.push_back({h});
  for (const char* h : {"status", "error"}) cols.push_back({h});
  Table t(cols);
  for (const Case* c : cases) {
    std::vector<std::string> row;
    if (with_op) row.push_back(c->op);
    row.insert(row.end(), {c->shape, c->dtype, c->device});
    for (const char* k : kTimes) row.push_back(number_cell(c->counter(k)));
    row.push_back(noisy(*c) ? "yes" : "");
    for (const char* k : kCounts) row.push_back(number_cell(c->counter(k)));
    for (const char* k : kLabels) row.push_back(c->label_field(k));
    for (const char* k : kLast) row.push_back(number_cell(c->counter(k)));
    row.push_back(to_string(c->status));
    row.push_back(c->error);
    t.add_row(std::move(row));
  }
  return t;
}

void add_case_tables(OutputSet& out, const Model& m, const std::string& results_dir, const std::string& cases_csv) {
  for (const auto& op : m.ops())
    out.add((std::filesystem::path(results_dir) / op_file_name(op)).string(),
            to_csv(case_table(m.cases_of(op), false)));
  std::vector<const Case*> all;
  for (const auto& c : m.cases) all.push_back(&c);
  out.add(cases_csv, to_csv(case_table(all, true)));
}

std::optional<double> pain_score(std::optional<int64_t> votes, std::optional<double> median_overhead_us) {
  if (!median_overhead_us || std::isnan(*median_overhead_us)) return std::nullopt;
  const double v = static_cast<double>(votes.value_or(0));
  return std::log2(1.0 + v) * std::log2(1.0 + std::max(0.0, *median_overhead_us));
}

namespace {

// Penalty range and median overhead over some cases of an op.
struct Cost {
  std::optional<double> penalty_min, penalty_max, median_overhead;
  size_t cases = 0;
  size_t noisy = 0, with_noise = 0;  // cases flagged noisy; cases that report their noise at all
};

Cost cost_of(const std::vector<const Case*>& cases) {
  Cost k;
  std::vector<double> overheads;
  for (const Case* c : cases) {
    ++k.cases;
    if (case_noise(*c)) ++k.with_noise;
    if (noisy(*c)) ++k.noisy;
    if (const auto p = c->counter(counters::kPenalty); p && !std::isnan(*p)) {
      k.penalty_min = k.penalty_min ? std::min(*k.penalty_min, *p) : *p;
      k.penalty_max = k.penalty_max ? std::max(*k.penalty_max, *p) : *p;
    }
    if (const auto o = c->counter(counters::kOverheadUs); o && !std::isnan(*o)) overheads.push_back(*o);
  }
  if (!overheads.empty()) k.median_overhead = median(overheads);  // none that is a number: no median
  return k;
}

// One op of the summary, before formatting.
struct OpLine {
  std::string op;
  std::optional<int64_t> votes;
  std::vector<std::string> links;
  FallbackStatus fallback;
  OpVerdict verdict;
  Cost cost;  // over the pain cases: those that ran and share the op's verdict
  std::optional<double> pain;
  size_t total = 0;  // all the op's cases

  // Ops that fall back on MPS, and those nothing is known about, are pain; native ops and
  // dtypes MPS cannot hold are not.
  bool ranked() const { return verdict.verdict == verdict::kFallsBack || verdict_unknown(verdict.verdict); }
  bool requested() const { return votes.value_or(0) > 0; }
};

OpLine op_line(const Model& m, const std::string& op, const TargetsDemand* demand) {
  OpLine l;
  l.op = op;
  if (demand) {
    if (const auto it = demand->by_op.find(op); it != demand->by_op.end()) {
      l.votes = it->second.votes;
      l.links = it->second.links;
    }
  }
  l.fallback = fallback_status(m, op);
  l.verdict = op_verdict(m, op);
  std::vector<const Case*> pain_cases;
  for (const Case* c : m.cases_of(op)) {
    ++l.total;
    if (c->status == Status::kOk && same_verdict(case_verdict(*c), l.verdict.verdict)) pain_cases.push_back(c);
  }
  l.cost = cost_of(pain_cases);
  l.pain = pain_score(l.votes, l.cost.median_overhead);
  return l;
}

// The coverage history beside the run: set when the run's verdict torch is older than the newest
// release the history judged, so that the report shows both verdicts and says which is which.
struct Newer {
  std::string run_torch;  // "2.13": the torch whose verdicts the run carries
  std::string role;       // "linked": the torch the run linked; "verdict torch": one the run chose
  std::string newest;     // "2.15"
};

std::optional<Newer> newer_release(const Model& m, const coverage::Coverage* cov) {
  if (!cov || !cov->newest()) return std::nullopt;
  const std::string run = verdict_torch(m);
  const auto a = verdicts::parse_torch_version(run), b = verdicts::parse_torch_version(cov->newest()->torch);
  if (!a || !b || !(*a < *b)) return std::nullopt;
  const std::string linked = m.ctx(context::kTorchVersion);
  const bool is_linked = m.ctx(context::kVerdictTorch).empty() || coverage::minor_of(linked) == coverage::minor_of(run);
  return Newer{coverage::minor_of(run), is_linked ? "linked" : "verdict torch", cov->newest()->minor()};
}

// What every section of the summary reads: the run, its ops ranked, and the options.
struct Summary {
  const Model& m;
  const SummaryOptions& options;
  std::vector<OpLine> lines;  // highest pain first
  std::optional<Newer> newer;

  bool have_demand() const { return options.demand != nullptr; }
  std::optional<std::string> native_since(const std::string& op) const {
    return options.coverage ? options.coverage->native_since(op) : std::nullopt;
  }
  // The run's verdict of an op, and where a newer release implements it, since when:
  // "falls back in 2.13 (linked); native since 2.15".
  std::string verdict_text(const OpLine& l) const {
    const std::string text = l.verdict.text(l.op);
    const auto since = native_since(l.op);
    if (!newer || l.verdict.verdict != verdict::kFallsBack || !since) return text;
    return text + " in " + newer->run_torch + " (" + newer->role + "); native since " + *since;
  }
  // The newest release's verdict of an op, from the history.
  std::string newest_verdict(const std::string& op) const {
    const std::string v = options.coverage->verdict(op, newer->newest);
    return v.empty() ? "— (not in " + options.coverage->path + ")" : v;
  }
};

std::string range_cell(const Cost& k) {
  if (!k.penalty_min) return "—";
  const std::string a = format_factor(k.penalty_min), b = format_factor(k.penalty_max);
  return a == b ? a : a + "–" + b;
}

std::string cases_cell(const OpLine& l) {
  return l.cost.cases == l.total ? std::to_string(l.total)
                                 : std::to_string(l.cost.cases) + " of " + std::to_string(l.total);
}

// How many of the cases behind a line are noisy; "—" when none reports its noise.
std::string noisy_cell(const Cost& k) { return k.with_noise == 0 ? "—" : std::to_string(k.noisy); }

std::string percent(const std::optional<double>& fraction) {
  return fraction ? format_short(*fraction * 100) + "%" : "—";
}

// Ops without any verdict: their cases come from JSON written before verdicts.
size_t unjudged(const std::vector<OpLine>& lines) {
  return static_cast<size_t>(
      std::count_if(lines.begin(), lines.end(), [](const OpLine& l) { return l.verdict.verdict.empty(); }));
}

// "falls back 2, native 3": how many ops have each verdict.
std::string verdict_counts(const std::vector<OpLine>& lines) {
  std::vector<std::string> parts;
  for (const char* token : {verdict::kFallsBack, verdict::kNative, verdict::kUnsupportedDtype, verdict::kUnknown}) {
    const auto n = std::count_if(lines.begin(), lines.end(),
                                 [&](const OpLine& l) { return same_verdict(l.verdict.verdict, token); });
    if (n > 0) parts.push_back(std::string(token) + " " + std::to_string(n));
  }
  return join(parts, ", ");
}

Section context_section(const Summary& s) {
  Section out{"Run context"};
  Table t({{"key"}, {"value"}});
  bool differ = false;
  for (const char* key :
       {context::kTorchVersion, context::kVerdictTorch, context::kNativeFunctions, context::kDevice,
        context::kDeviceName, context::kOsVersion, gbench_context::kDate, context::kFallbackMode, context::kEmulate,
        context::kMpsFallbackEnv, context::kMpsBuild, context::kTargets, context::kTargetsSha1, context::kCopyModel,
        context::kCopyModelSource, context::kH2dGBps, context::kD2hGBps, context::kH2dLatencyUs,
        context::kD2hLatencyUs, context::kSyncUs, context::kNoiseTarget, context::kMinSamples, context::kMaxSamples,
        context::kMaxTimeS, context::kHostAllocator, gbench_context::kLibraryBuildType}) {
    const auto it = s.m.context.find(key);
    t.add_row({key, it == s.m.context.end() ? "—" : text(join(it->second, " | "))});
    differ = differ || (it != s.m.context.end() && it->second.size() > 1);
  }
  out.table = std::move(t);
  if (differ) out.after = "Where the input files differ, their values are separated by \"|\", in file order.\n\n";
  return out;
}

// The ranking: in Markdown for reading, and top_pain.csv (exact numbers, every link) for scripts.
Section pain_section(const Summary& s) {
  const Model& m = s.m;
  const auto& lines = s.lines;
  const size_t without_verdict = unjudged(lines);
  Section out{"Top pain"};
  std::ostringstream prose;
  if (without_verdict < lines.size())
    prose << "The ops that fall back on MPS in torch " << text(verdict_torch(m))
          << ", each with its verdict and where the verdict comes from; ops native there are in the next section, "
             "and cases in a dtype MPS cannot hold are never pain. Penalty, overhead and pain come from the cases "
             "that fall back.\n\n";
  prose << "pain = log2(1 + votes) × log2(1 + max(0, median overhead_us)): both demand and cost span orders of "
           "magnitude, so each counts by its logarithm and neither a viral request nor one huge tensor drowns the "
           "other; an op nobody asked for, or one that loses nothing, scores 0.\n\n";
  if (!s.have_demand()) prose << "No targets file was read: votes count as 0 and links are unknown.\n\n";
  if (s.newer)
    prose << "Two verdicts per op: **MPS verdict** is torch " << s.newer->run_torch << "'s (the " << s.newer->role
          << " torch, which judged this run and ranks it); **torch " << s.newer->newest
          << " (newest)** is the newest release's, from " << code(s.options.coverage->path)
          << " (the coverage history, docs/coverage.md), which also names the release an op is native since.\n\n";
  if (without_verdict == lines.size() && !lines.empty())
    prose << "This run carries no MPS verdicts (it predates them): every op is ranked on its measurements alone, "
             "whether or not it still falls back in this torch.\n\n";
  else if (without_verdict > 0)
    prose << "Ops without an MPS verdict (" << without_verdict << ", from a run that predates verdicts) are ranked "
          << "on their measurements alone, marked unknown.\n\n";
  std::vector<Column> cols = {{"rank", Align::kRight}, {"op"},       {"pain", Align::kRight},
                              {"votes", Align::kRight}, {"requests"}, {"MPS verdict"}};
  std::vector<Column> csv_cols = {{"rank"},  {segment::kOp}, {"pain"}, {"votes"}, {"links"}, {label::kMpsVerdict},
                                  {"verdict"}};
  if (s.newer) {  // both verdicts, the run's first
    cols.push_back({"torch " + s.newer->newest + " (newest)"});
    csv_cols.insert(csv_cols.end(), {{"newest_release_verdict"}, {"native_since"}});
  }
  cols.insert(cols.end(), {{"verdict source"},
                           {"fallback in this run"},
                           {"penalty range"},
                           {"median overhead (µs)", Align::kRight},
                           {"cases", Align::kRight},
                           {"noisy", Align::kRight}});
  csv_cols.insert(csv_cols.end(), {{label::kVerdictSource},
                                   {"fallback_in_run"},
                                   {"penalty_min"},
                                   {"penalty_max"},
                                   {"median_overhead_us"},
                                   {"cases"},
                                   {"all_cases"},
                                   {"noisy_cases"}});
  Table t(std::move(cols)), data(std::move(csv_cols));
  size_t rank = 0;
  std::vector<const OpLine*> ranked;
  for (const auto& l : lines)
    if (l.ranked()) ranked.push_back(&l);
  for (const OpLine* l : ranked) {
    const std::string r = std::to_string(++rank);
    std::vector<std::string> row = {r, code(l->op), l->pain ? format_short(*l->pain) : "—", votes_cell(l->votes),
                                    links_cell(l->links), text(s.verdict_text(*l))};
    std::vector<std::string> csv = {r, l->op, number_cell(l->pain), votes_csv(l->votes), join(l->links, " "),
                                    l->verdict.verdict, s.verdict_text(*l)};
    if (s.newer) {
      row.push_back(text(s.newest_verdict(l->op)));
      csv.push_back(s.options.coverage->verdict(l->op, s.newer->newest));
      csv.push_back(s.native_since(l->op).value_or(""));
    }
    row.insert(row.end(), {text(l->verdict.source()), l->fallback.text(), range_cell(l->cost),
                           format_or_dash(l->cost.median_overhead), cases_cell(*l), noisy_cell(l->cost)});
    csv.insert(csv.end(), {join(l->verdict.sources, "; "), l->fallback.text(), number_cell(l->cost.penalty_min),
                           number_cell(l->cost.penalty_max), number_cell(l->cost.median_overhead),
                           std::to_string(l->cost.cases), std::to_string(l->total),
                           l->cost.with_noise == 0 ? "" : std::to_string(l->cost.noisy)});
    t.add_row(std::move(row));
    data.add_row(std::move(csv));
  }
  if (lines.empty())
    prose << "No op cases in the input.\n\n";
  else if (t.empty())
    prose << "None: no op of this run falls back on MPS in torch " << text(verdict_torch(m)) << ".\n\n";
  else
    out.table = std::move(t);
  out.prose = prose.str();
  const auto scored = [](const OpLine* l) { return l->pain.has_value(); };
  if (!ranked.empty() && std::none_of(ranked.begin(), ranked.end(), scored))
    out.after = "No case ran on a device, so there is no overhead to score: ops are ordered by votes.\n\n";
  out.csv = "top_pain.csv";
  out.data = std::move(data);
  return out;
}

// Cases whose medians a rerun could move by more than counters::kNoisyAbove: ranked above with
// the rest, but named here so that nobody acts on them unwarned.
Section noisy_section(const Summary& s) {
  const Model& m = s.m;
  Section out{"Noisy cases"};
  const bool any_noise = std::any_of(m.cases.begin(), m.cases.end(), [](const Case& c) { return case_noise(c); });
  if (!any_noise) {
    out.prose = "Unknown: no case of this run reports its noise (cpu_noise, dev_noise, native_noise); it predates "
                "them.\n\n";
    return out;
  }
  Table t({{"case"},
           {"cpu_noise", Align::kRight},
           {"dev_noise", Align::kRight},
           {"native_noise", Align::kRight},
           {"samples", Align::kRight}});
  for (const auto& c : m.cases)
    if (noisy(c))
      t.add_row({code(c.name), percent(c.counter(counters::kCpuNoise)), percent(c.counter(counters::kDevNoise)),
                 percent(c.counter(counters::kNativeNoise)), number_cell(c.counter(counters::kSamples))});
  const std::string target = m.ctx(context::kNoiseTarget);
  const std::string limit = format_number(counters::kNoisyAbove * 100) + "%";
  if (t.empty()) {
    out.prose = "None: every case's medians are stable within " + limit +
                " (a side's noise: the relative half-width of the 95% confidence interval of its median).\n\n";
    return out;
  }
  out.prose = "A side's noise is the relative half-width of the 95% confidence interval of its median: how far a "
              "rerun could move it; for a case measured in several visits, the larger of that and half the spread of "
              "the visits' medians over their median. These cases are above " +
              limit + " on some side: a visit stopped at its time or sample limit" +
              (target.empty() ? std::string() : " before reaching the run's noise_target of " + text(target)) +
              ", or the machine moved between visits; they stay in the ranking (the `noisy` column counts them) but "
              "need a rerun on an idle machine, or a longer `--max_time_s`, before anyone acts on them.\n\n";
  out.table = std::move(t);
  return out;
}

// What the fallback would cost a native op: from the cases the run emulated anyway (--emulate=all).
Cost emulated_native_cost(const Model& m, const std::string& op) {
  std::vector<const Case*> emulated;
  for (const Case* c : m.cases_of(op))
    if (c->status == Status::kOk && case_verdict(*c) == verdict::kNative && through_fallback(*c)) emulated.push_back(c);
  return cost_of(emulated);
}

// The release an op is native since, from the coverage history: "2.15", "2.6 or earlier" (native
// in the oldest release judged), "not native in 2.15" (the newest falls back), "—" (not in it).
std::string since_cell(const Summary& s, const std::string& op) {
  const coverage::Coverage& cov = *s.options.coverage;
  if (!cov.find(op)) return "—";
  const auto since = cov.native_since(op);
  if (!since) return "not native in " + cov.newest()->minor();
  return *since == cov.releases.front().minor() ? *since + " or earlier" : *since;
}

// Requested ops that are native: in Markdown, and now_native.csv for scripts.
Section now_native_section(const Summary& s) {
  const Model& m = s.m;
  Section out{"Requested, now native in torch " + text(verdict_torch(m))};
  out.csv = "now_native.csv";
  std::vector<Column> csv_cols = {{segment::kOp}, {"votes"},       {"links"},           {label::kMpsVerdict},
                                  {"verdict"},    {label::kVerdictSource}};
  if (s.options.coverage) csv_cols.push_back({"native_since"});
  csv_cols.insert(csv_cols.end(), {{"emulated_cases"}, {"median_overhead_us"}, {"penalty_min"}, {"penalty_max"}});
  out.data = Table(std::move(csv_cols));
  if (unjudged(s.lines) == s.lines.size()) {
    out.prose = "Unknown: this run carries no MPS verdicts.\n\n";
    return out;
  }
  if (!s.have_demand()) {
    out.prose = "Unknown: no targets file was read, so which ops are requested is not known.\n\n";
    return out;
  }
  std::vector<Column> cols = {{"op"}, {"votes", Align::kRight}, {"requests"}, {"MPS verdict"}};
  if (s.options.coverage) cols.push_back({"native since"});  // the release that implemented it
  cols.insert(cols.end(), {{"verdict source"}, {"if it fell back"}});
  Table t(std::move(cols));
  std::vector<std::string> unrequested;
  bool priced = false;
  for (const auto& l : s.lines) {
    if (l.verdict.verdict != verdict::kNative) continue;
    if (!l.requested()) {
      unrequested.push_back(code(l.op));
      continue;
    }
    const Cost k = emulated_native_cost(m, l.op);
    priced = priced || k.cases > 0;
    const std::string cost = k.cases == 0 ? "—"
                                          : "through the fallback it would cost " + format_or_dash(k.median_overhead) +
                                                " µs, " + range_cell(k);
    std::vector<std::string> row = {code(l.op), votes_cell(l.votes), links_cell(l.links), text(l.verdict.text(l.op))};
    if (s.options.coverage) row.push_back(since_cell(s, l.op));
    row.insert(row.end(), {text(l.verdict.source()), cost});
    t.add_row(std::move(row));
    std::vector<std::string> csv = {l.op, votes_csv(l.votes), join(l.links, " "), l.verdict.verdict,
                                    l.verdict.text(l.op), join(l.verdict.sources, "; ")};
    if (s.options.coverage) csv.push_back(s.native_since(l.op).value_or(""));
    csv.insert(csv.end(), {std::to_string(k.cases), number_cell(k.median_overhead), number_cell(k.penalty_min),
                           number_cell(k.penalty_max)});
    out.data->add_row(std::move(csv));
  }
  if (t.empty()) {
    out.prose = "None: no requested op of this run is native in this torch.\n\n";
  } else {
    out.prose = "Requested ops (votes in the targets file) that MPS runs natively in this torch: their requests can be "
                "closed, unless they are about another torch build, dtype or shape. Where the run routed them through "
                "the fallback anyway (`--fallback=emulate --emulate=all`), the last column says what native support "
                "saves: the median overhead over the CPU per call, and the penalty range.\n\n";
    out.table = std::move(t);
    if (emulate_run(m) && !priced)
      out.after = "This run emulated only the ops that fall back (emulate: " + text(m.ctx(context::kEmulate)) +
                  "); `--fallback=emulate --emulate=all` prices the native ones too.\n\n";
  }
  if (!unrequested.empty()) out.after += "Native and not requested: " + join(unrequested, ", ") + ".\n\n";
  return out;
}

// Cases in a dtype MPS cannot hold, per op and dtype: an error on MPS, not a fallback.
Section unsupported_section(const Summary& s) {
  std::vector<std::pair<std::string, std::string>> order;  // (op, dtype), first appearance
  std::map<std::pair<std::string, std::string>, std::pair<size_t, std::string>> seen;  // -> cases, source
  for (const auto& c : s.m.cases) {
    if (case_verdict(c) != verdict::kUnsupportedDtype) continue;
    auto [it, fresh] = seen.try_emplace({c.op, c.dtype}, 0, c.label_field(label::kVerdictSource));
    if (fresh) order.push_back(it->first);
    ++it->second.first;
  }
  if (order.empty()) return {};
  Section out{"Dtypes MPS cannot hold"};
  out.prose = "Not a fallback and not pain: MPS has no such dtype, so the op raises there whatever its kernels.\n\n";
  for (const auto& key : order) {
    const auto& [n, source] = seen.at(key);
    out.prose += "- " + code(key.first) + " " + text(key.second) + " (" + std::to_string(n) +
                 (n == 1 ? " case" : " cases") + ")" + (source.empty() ? "" : ": " + text(source)) + "\n";
  }
  out.prose += "\n";
  return out;
}

// MPS runs: cases where the run-time verdict and the static one disagree.
Section findings_section(const Summary& s) {
  std::vector<std::string> items;
  for (const auto& c : s.m.cases)
    if (const std::string f = c.label_field(label::kVerdictFinding); !f.empty())
      items.push_back(code(c.name) + ": " + text(f));
  if (items.empty()) return {};
  Section out{"Run time against the static verdict"};
  out.prose = "The run-time verdict is the truth on this build; the static one (native_functions.yaml) disagreed:\n\n";
  for (const auto& i : items) out.prose += "- " + i + "\n";
  out.prose += "\n";
  return out;
}

Section failures_section(const Summary& s) {
  Section out{"Errored and skipped cases"};
  Table t({{"case"}, {"status"}, {"reason"}});
  for (const auto& c : s.m.cases)
    if (c.status != Status::kOk) t.add_row({code(c.name), to_string(c.status), text(c.error)});
  for (const auto& w : s.m.workloads)
    if (w.status != Status::kOk)
      t.add_row({code(segment::join({{segment::kWorkload, w.name}, {segment::kDevice, w.device}})),
                 to_string(w.status), text(w.error)});
  if (t.empty())
    out.prose = "None.\n\n";
  else
    out.table = std::move(t);
  return out;
}

// "aten::x:41.2%,aten::y:10.1%" -> "aten::x 41.2%, aten::y 10.1%"
std::string top_fallback_cell(const std::string& value) {
  if (value.empty()) return "—";
  std::vector<std::string> parts;
  for (const auto& item : split(value, ",")) {
    const size_t colon = item.rfind(':');
    const bool has_pct = colon != std::string::npos && colon > 0 && item[colon - 1] != ':';
    parts.push_back(has_pct ? item.substr(0, colon) + " " + item.substr(colon + 1) : item);
  }
  return join(parts, ", ");
}

Section workload_section(const Summary& s) {
  if (s.m.workloads.empty()) return {};
  Section out{"Workloads"};
  out.prose = "How much of a whole model's op time and calls went through the fallback.\n\n";
  Table t({{"workload"},
           {"device"},
           {"fallback % of op time", Align::kRight},
           {"fallback % of calls", Align::kRight},
           {"ops per pass", Align::kRight},
           {"top fallback ops"}});
  for (const auto& w : s.m.workloads) {
    if (w.status != Status::kOk) continue;
    const auto top = w.label.find(label::kTopFallback);
    t.add_row({text(w.name), text(w.device), format_or_dash(w.counter(counters::kFallbackPct)),
               format_or_dash(w.counter(counters::kFallbackCallsPct)), format_or_dash(w.counter(counters::kTotalOps)),
               text(top_fallback_cell(top == w.label.end() ? "" : top->second))});
  }
  if (t.empty())
    out.prose += "No workload ran (see the errored cases).\n\n";
  else
    out.table = std::move(t);
  return out;
}

Section plots_section(const Summary& s) {
  if (s.options.plots.empty()) return {};
  Section out{"Plots"};
  for (const auto& p : s.options.plots) {
    std::string alt = p.substr(p.find_last_of('/') == std::string::npos ? 0 : p.find_last_of('/') + 1);
    alt = alt.substr(0, alt.rfind('.'));
    std::replace(alt.begin(), alt.end(), '_', ' ');
    out.prose += "![" + alt + "](" + p + ")\n\n";
  }
  return out;
}

Section how_to_read(const Summary&) {
  Section out{"How to read this"};
  out.prose =
      "- Times are medians of per-iteration samples in µs. `cpu_us`: the op on CPU tensors; `dev_us`: the same "
      "call on device tensors, through the CPU fallback when the op falls back, synchronized.\n"
      "- **penalty** = dev_us / cpu_us: how many times longer the device call takes than doing the work on the "
      "CPU directly; above 1× the device path costs more than the CPU alone.\n"
      "- **overhead** = dev_us − cpu_us, the time lost per call. `floor_us` is what the copies alone should cost: "
      "for each tensor the fallback moves (`moved_to_cpu`, `moved_to_dev`), the copy model's fixed latency plus its "
      "bytes over the bandwidth, plus one synchronize; the copy model is the one measured at start or one loaded "
      "from a file (context `copy_model`, e.g. published Apple figures: then the floor is that machine's). "
      "`copy_efficiency` = floor_us / overhead_us: near 1, the copies explain the overhead; far below 1, something "
      "else (queue drains, dispatch, allocation) does.\n"
      "- **noise** (`cpu_noise`, `dev_noise`, `native_noise`): the relative half-width of the 95% confidence "
      "interval of each median, from the order statistics of its samples; each case took samples until every "
      "side was within the run's `noise_target`, or until its time or sample limit. A case measured in several "
      "visits (context `visits`, repetitions) is reported as the median over them, its noise being at least half "
      "the spread of the visits' medians over their median. Cases above " +
      format_number(counters::kNoisyAbove * 100) +
      "% are listed as noisy.\n"
      "- **MPS verdict**: what MPS does with the op in the torch named (context `verdict_torch`): native; falls "
      "back (via the leaf ops without an MPS kernel, for a composite); unsupported dtype (MPS cannot hold it); "
      "unknown. **verdict source**: `" +
      verdict::kRunTimeSource +
      "` on an MPS build, otherwise static: that torch's "
      "native_functions.yaml, the ops MPSFallback.mm always sends to the CPU, or the dtype.\n"
      "- **fallback in this run** comes from probing one call: yes = the op (or an inner op, listed as "
      "`fallback_ops` in results/&lt;op&gt;.csv) ran through the CPU fallback on this build; no = it ran "
      "natively; emulated = the run routed it through the fallback (`--fallback=emulate`) to price it on a device "
      "that has the kernel; n/a = a CPU-only run.\n"
      "- Every case is in `results/<op>.csv`; `mpsfb_report --compare` diffs two runs (docs/reports.md).\n";
  return out;
}

// The summary's first sentences: which torch judged, how many requested ops still fall back
// there, and the top three of the ranking; what the report read follows them.
std::string answer(const Summary& s) {
  const Model& m = s.m;
  std::vector<const OpLine*> ranked;
  for (const auto& l : s.lines)
    if (l.ranked()) ranked.push_back(&l);
  const auto falls_back = [](const OpLine& l) { return l.verdict.verdict == verdict::kFallsBack; };
  const size_t falling = static_cast<size_t>(std::count_if(s.lines.begin(), s.lines.end(), falls_back));
  const std::string torch = text(verdict_torch(m));
  const std::string source = m.ctx(context::kVerdictSource);
  std::ostringstream out;
  if (s.lines.empty()) {
    out << "No op cases in the input.";
    return out.str();
  }
  if (unjudged(s.lines) == s.lines.size()) {
    out << "This run carries no MPS verdicts (it predates them; torch " << torch
        << " ran it), so which ops fall back on MPS is not known.";
  } else {
    out << "Judged by torch " << torch << (source.empty() ? "" : " (" + text(source) + ")") << ": ";
    if (s.have_demand()) {
      const size_t requested = static_cast<size_t>(
          std::count_if(s.lines.begin(), s.lines.end(), [](const OpLine& l) { return l.requested(); }));
      const size_t still = static_cast<size_t>(std::count_if(
          s.lines.begin(), s.lines.end(), [&](const OpLine& l) { return l.requested() && falls_back(l); }));
      out << still << " of the " << requested << " requested " << (requested == 1 ? "op" : "ops")
          << " of this run still " << (still == 1 ? "falls" : "fall") << " back on MPS there";
    } else {
      out << falling << " of the " << s.lines.size() << " ops of this run fall back on MPS there (no targets file "
          << "was read, so which are requested is not known)";
    }
    out << ".";
  }
  if (ranked.empty()) return out.str() + " Top pain: none.";
  std::vector<std::string> top;
  for (size_t i = 0; i < ranked.size() && i < 3; ++i)
    top.push_back(code(ranked[i]->op) + (ranked[i]->pain ? " (pain " + format_short(*ranked[i]->pain) + ")" : ""));
  out << " Top pain: " << join(top, ", ")
      << (std::none_of(ranked.begin(), ranked.end(), [](const OpLine* l) { return l->pain.has_value(); })
              ? " (no case ran on a device: ordered by votes)"
              : "")
      << ".";
  return out.str();
}

// The summary's sections, in order: the answer first, the run's context last. To add a table,
// add its function here.
using SectionFn = Section (*)(const Summary&);
constexpr SectionFn kSections[] = {pain_section,     now_native_section, noisy_section,    unsupported_section,
                                   findings_section, failures_section,   workload_section, plots_section,
                                   how_to_read,      context_section};

}  // namespace

Report summary_report(const Model& m, const SummaryOptions& options) {
  Summary s{m, options, {}, newer_release(m, options.coverage)};
  for (const auto& op : m.ops()) s.lines.push_back(op_line(m, op, options.demand));
  // Highest pain first; ops without a score after, by votes; then by name, for a stable order.
  std::stable_sort(s.lines.begin(), s.lines.end(), [](const OpLine& a, const OpLine& b) {
    if (a.pain.has_value() != b.pain.has_value()) return a.pain.has_value();
    if (a.pain && *a.pain != *b.pain) return *a.pain > *b.pain;
    return a.votes.value_or(-1) > b.votes.value_or(-1);
  });

  size_t ok = 0, errored = 0, skipped = 0;
  for (const auto& c : m.cases) (c.status == Status::kOk ? ok : c.status == Status::kError ? errored : skipped)++;

  Report r;
  r.title = "MPS fallback report";
  std::ostringstream opening;
  opening << answer(s) << " ";
  std::vector<std::string> files;
  for (const auto& f : m.files) files.push_back(code(f));
  opening << "From " << join(files, ", ") << "; demand from "
          << (options.demand ? code(options.demand->path) : std::string("no targets file")) << ". "
          << m.cases.size() << " cases of " << s.lines.size() << " ops: " << ok << " ok, " << errored << " errored, "
          << skipped << " skipped.";
  if (std::any_of(s.lines.begin(), s.lines.end(), [](const OpLine& l) { return !l.verdict.verdict.empty(); }))
    opening << " MPS verdicts per op: " << verdict_counts(s.lines) << ".";
  opening << "\n\n";
  r.opening = opening.str();
  for (const SectionFn f : kSections) r.sections.push_back(f(s));
  return r;
}

}  // namespace mpsfb::report
