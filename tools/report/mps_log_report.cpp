#include "mps_log_report.h"

#include "cells.h"
#include "section.h"
#include "table.h"
#include "text.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

namespace mpsfb::report {

namespace {

using mps_log::OpTotals;
using mps_log::Outcome;

// Where a user asks for an op MPS lacks (the message of the disabled fallback names it, 2.6+).
constexpr const char* kRequestIssue = "https://github.com/pytorch/pytorch/issues/141287";

// "512 B", "32 KiB", "1.50 MiB": 1024-based, like the profiler.
std::string format_bytes(double b) {
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (b < 1024) return format_short(b) + " B";
  int u = 0;
  b /= 1024;
  while (b >= 1024 && u < 3) {
    b /= 1024;
    ++u;
  }
  return format_short(b) + " " + units[u];
}

std::string pct(double part, double whole) {
  if (!(whole > 0)) return "—";
  return format_short(100.0 * part / whole) + "%";
}

// "aten::isin.Tensor_Tensor" -> "aten::isin": the profiler names ops by schema name only.
std::string without_overload(const std::string& op) {
  const size_t ns = op.find("::");
  const size_t dot = op.find('.', ns == std::string::npos ? 0 : ns + 2);
  return dot == std::string::npos ? op : op.substr(0, dot);
}

// The demand of a log's op: the targets entries of any of its overloads. Requests for
// overloads are mostly the same request, so votes are their maximum, links their union.
struct OpDemand {
  std::optional<int64_t> votes;
  std::vector<std::string> links;
  std::vector<std::string> entries;  // the targets' ops that matched
};

// The targets' entries by schema name, in file order: built once, so that each op of the log
// is one lookup (a scan of every entry per op was quadratic: issue 20, H5).
using EntriesByName = std::map<std::string, std::vector<std::string>>;
EntriesByName entries_by_name(const TargetsDemand* demand) {
  EntriesByName out;
  if (demand)
    for (const auto& name : demand->ops) out[without_overload(name)].push_back(name);
  return out;
}

OpDemand demand_of(const TargetsDemand* demand, const EntriesByName& entries, const std::string& op) {
  OpDemand d;
  const auto it = entries.find(op);
  if (!demand || it == entries.end()) return d;
  for (const auto& name : it->second) {
    d.entries.push_back(name);
    const Demand& one = demand->by_op.at(name);
    if (one.votes) d.votes = std::max(d.votes.value_or(0), *one.votes);
    for (const auto& l : one.links)
      if (std::find(d.links.begin(), d.links.end(), l) == d.links.end()) d.links.push_back(l);
  }
  return d;
}

// The static verdict of an op name over its overloads in the yaml.
struct OpStatic {
  std::string text, source;
  bool falls_back = false;
};

OpStatic static_verdict(const StaticVerdicts& sv, const std::string& op) {
  const size_t ns = op.find("::");
  const std::string prefix = ns == std::string::npos ? "" : op.substr(0, ns + 2);
  const std::string name = ns == std::string::npos ? op : op.substr(ns + 2);
  std::vector<std::string> overloads;
  if (prefix == "aten::")
    for (auto it = sv.entries.lower_bound(name); it != sv.entries.end(); ++it) {
      if (*it != name && it->compare(0, name.size() + 1, name + ".") != 0) break;
      overloads.push_back(prefix + *it);
    }
  if (overloads.empty()) overloads.push_back(op);  // not in the yaml: the Book says why (unknown, or outside it)
  std::map<std::string, std::vector<std::string>> by_verdict;  // verdict text -> overloads
  std::vector<std::string> order, sources;
  OpStatic s;
  for (const auto& o : overloads) {
    const verdicts::Verdict v = sv.book.judge(o, "", nullptr);
    s.falls_back = s.falls_back || v.verdict == verdict::kFallsBack;
    const std::string text = v.verdict;
    if (!by_verdict.count(text)) order.push_back(text);
    by_verdict[text].push_back(o.substr(prefix.size()));
    if (std::find(sources.begin(), sources.end(), v.source) == sources.end()) sources.push_back(v.source);
  }
  if (order.size() == 1) {
    s.text = order.front();
    if (overloads.size() > 1) s.text += " (" + std::to_string(overloads.size()) + " overloads)";
  } else {
    std::vector<std::string> parts;
    for (const auto& v : order) parts.push_back(v + ": " + join(by_verdict[v], ", "));
    s.text = join(parts, "; ");
  }
  s.source = join(sources, "; ");
  return s;
}

struct Line {
  const OpTotals* totals = nullptr;
  OpDemand demand;
  std::optional<OpStatic> statik;
};

// What every section of the log's summary reads.
struct LogSummary {
  const mps_log::Log& log;
  const mps_log::Summary& s;
  const LogReportOptions& o;
  std::vector<Line> lines;  // the ops, most fallback time first
};

// The one line for stderr and the summary's first paragraph.
std::string headline(const mps_log::Summary& s, const std::optional<double>& wall_s) {
  switch (s.outcome) {
    case Outcome::kNoProfilerOutput:
      return "no CPU fallbacks seen: the log has no MPS profiler lines (the run did not use the MPS device, or "
             "PYTORCH_MPS_LOG_PROFILE_INFO was not set)";
    case Outcome::kNoneLogged:
      return "no CPU fallbacks: the MPS profiler ran and logged none";
    case Outcome::kFallbacks:
      break;
  }
  std::ostringstream out;
  out << s.calls << " fallback " << (s.calls == 1 ? "call" : "calls") << " of " << s.ops.size()
      << (s.ops.size() == 1 ? " op" : " ops");
  if (s.total_ms) {
    out << ", " << format_short(*s.total_ms) << " ms in the CPU fallback";
    if (wall_s) out << " of a " << format_short(*wall_s) << " s run: " << pct(*s.total_ms, *wall_s * 1000) << " of it";
  } else {
    out << " (no times in the log: it has no exit table and its per-call lines carry no cpu=)";
  }
  return out.str();
}

Table signature_table(const std::vector<const OpTotals*>& ops, bool with_op) {
  std::vector<Column> cols;
  if (with_op) cols.push_back({"op"});
  for (const char* h : {"tensors", "calls", "total_ms", "mean_ms", "copy_overhead_bytes", "from"}) cols.push_back({h});
  Table t(cols);
  for (const OpTotals* o : ops) {
    auto add = [&](const std::string& tensors, uint64_t calls, const std::optional<double>& total,
                   const mps_log::Size& copy, const std::string& from) {
      std::vector<std::string> row;
      if (with_op) row.push_back(o->op);
      const std::optional<double> mean =
          total && calls ? std::optional<double>(*total / static_cast<double>(calls)) : std::nullopt;
      row.insert(row.end(), {tensors, std::to_string(calls), number_cell(total), number_cell(mean), format_number(copy.bytes), from});
      t.add_row(std::move(row));
    };
    if (o->signatures.empty())
      add("(all calls)", o->calls, o->total_ms, o->copy, "exit table");
    else
      for (const auto& sig : o->signatures) add(sig.signature, sig.calls, sig.total_ms, sig.copy, "per-call lines");
  }
  return t;
}

Table ops_table(const std::vector<Line>& lines, const mps_log::Summary& s, const LogReportOptions& o) {
  Table t({{"op"},
           {"calls"},
           {"total_ms"},
           {"mean_ms"},
           {"copy_overhead_bytes"},
           {"share_pct"},
           {"run_pct"},
           {"votes"},
           {label::kMpsVerdict},
           {label::kVerdictSource},
           {label::kStaticVerdict},
           {"from"}});
  for (const auto& l : lines) {
    const OpTotals& op = *l.totals;
    std::optional<double> share, run;
    if (op.total_ms && s.total_ms && *s.total_ms > 0) share = 100.0 * *op.total_ms / *s.total_ms;
    if (op.total_ms && o.wall_s) run = 100.0 * *op.total_ms / (*o.wall_s * 1000);
    t.add_row({op.op, std::to_string(op.calls), number_cell(op.total_ms), number_cell(op.mean_ms()),
               format_number(op.copy.bytes), number_cell(share), number_cell(run), votes_csv(l.demand.votes),
               verdict::kFallsBack,
               kProfilerLogSource, l.statik ? l.statik->text + " (" + l.statik->source + ")" : "", op.source});
  }
  return t;
}

Section context_section(const LogSummary& in) {
  const auto& [log, s, o, lines] = in;
  Section out{"Run context"};
  Table t({{"key"}, {"value"}});
  t.add_row({"log", code(log.path)});
  t.add_row({"log lines", std::to_string(log.lines)});
  t.add_row({"per-call lines (bit 4)",
             std::to_string(log.calls.size()) +
                 (log.calls.empty() ? "" : s.per_call_times ? ", with times (bit 128)" : ", without times")});
  std::vector<std::string> tables;
  for (const auto& x : log.tables) tables.push_back("line " + std::to_string(x.line));
  t.add_row({"exit tables (bit 64)", tables.empty() ? "none" : std::to_string(tables.size()) + " (" + join(tables, ", ") + ")"});
  if (!log.none_logged.empty())
    t.add_row({"\"no CPU Fallbacks logged\"", std::to_string(log.none_logged.size()) + " (line " +
                                                  std::to_string(log.none_logged.front()) + ")"});
  t.add_row({"sizes printed in", log.size_units == "KiB"  ? "KiB, MiB, GiB (c10::CachingAllocator::format_size)"
                                 : log.size_units == "KB" ? "KB, MB, GB (MPSAllocator.mm's own format_size, older torch)"
                                                          : "bytes only, or no sizes"});
  t.add_row({"wall time (s)", o.wall_s ? format_number(*o.wall_s) : "— (pass --wall-s for the fallback% of the run)"});
  if (o.static_verdicts) {
    t.add_row({"static verdicts: torch", text(o.static_verdicts->book.torch_version())});
    t.add_row({"static verdicts: native_functions.yaml", code(o.static_verdicts->path)});
  }
  t.add_row({"targets", o.demand ? code(o.demand->path) : "— (no targets file: votes and links unknown)"});
  out.table = std::move(t);
  return out;
}

// The ranking: in Markdown for reading, and fallback_ops.csv (ops_table) for scripts.
Section top_section(const LogSummary& in) {
  const auto& [log, s, o, lines] = in;
  Section out{"Top fallback"};
  out.csv = kFallbackOpsCsv;
  out.data = ops_table(lines, s, o);
  if (s.outcome != Outcome::kFallbacks) {
    if (s.outcome == Outcome::kNoneLogged) {
      out.prose = "None: the profiler ran and logged no CPU fallback; every op of this run had an MPS kernel.\n\n";
      return out;
    }
    out.prose = "None seen: there is no MPS profiler output in the log, so nothing can be said about fallbacks. The "
                "profiler writes only when the run uses the MPS device and `PYTORCH_MPS_LOG_PROFILE_INFO` has the CPU "
                "fallback bits (4 | 64) when torch starts: run the program with `tools/profile_run.sh`, on a Mac "
                "whose torch has MPS (`torch.backends.mps.is_available()`), with its tensors and model on "
                "`\"mps\"`.\n\n";
    return out;
  }
  out.prose = std::string("Every op below ran through the CPU fallback on the Mac that wrote the log (verdict "
                          "source: ") +
              kProfilerLogSource +
              "), ranked by the time spent in its fallback: copies to the CPU, the CPU kernel, copies back.\n\n";
  std::vector<Column> cols = {{"rank", Align::kRight},      {"op"},
                              {"calls", Align::kRight},     {"total (ms)", Align::kRight},
                              {"mean (ms)", Align::kRight}, {"copy overhead", Align::kRight},
                              {"share of fallback time", Align::kRight}};
  if (o.wall_s) cols.push_back({"% of run", Align::kRight});
  for (const char* h : {"votes", "requests", "MPS verdict", "verdict source"}) cols.push_back({h});
  if (o.static_verdicts)
    cols.push_back({"static verdict (torch " + text(o.static_verdicts->book.torch_version()) + ")"});
  Table t(cols);
  size_t rank = 0;
  for (const auto& l : lines) {
    const OpTotals& op = *l.totals;
    std::vector<std::string> row = {std::to_string(++rank),
                                    code(op.op),
                                    std::to_string(op.calls),
                                    format_or_dash(op.total_ms),
                                    format_or_dash(op.mean_ms()),
                                    format_bytes(op.copy.bytes),
                                    op.total_ms && s.total_ms ? pct(*op.total_ms, *s.total_ms) : "—"};
    if (o.wall_s) row.push_back(op.total_ms ? pct(*op.total_ms, *o.wall_s * 1000) : "—");
    row.push_back(votes_cell(l.demand.votes));
    row.push_back(links_cell(l.demand.links));
    row.push_back(verdict::kFallsBack);
    row.push_back(kProfilerLogSource);
    if (o.static_verdicts) row.push_back(text(l.statik->text + " (" + l.statik->source + ")"));
    t.add_row(std::move(row));
  }
  out.table = std::move(t);
  if (!o.demand) out.after = "No targets file was read: votes and links are unknown.\n\n";
  return out;
}

Section unrequested_section(const LogSummary& in) {
  const auto& o = in.o;
  if (!o.demand) return {};
  std::vector<std::string> ops;
  for (const auto& l : in.lines)
    if (l.demand.entries.empty()) ops.push_back(code(l.totals->op));
  if (ops.empty()) return {};
  Section out{"Not in the targets file"};
  out.prose = "These fell back in this run but " + code(o.demand->path) + " has no entry for them: " + join(ops, ", ") +
              ". To ask for an MPS kernel, comment on " + kRequestIssue +
              " with the use case (the fallback% above is the evidence).\n\n";
  return out;
}

Section findings_section(const LogSummary& in) {
  const auto& o = in.o;
  if (!o.static_verdicts) return {};
  std::vector<std::string> items;
  for (const auto& l : in.lines)
    if (!l.statik->falls_back)
      items.push_back(code(l.totals->op) + ": " +
                      text("the run fell back, but the static view of torch " +
                           o.static_verdicts->book.torch_version() + " says " + l.statik->text + " (" +
                           l.statik->source + ")"));
  if (items.empty()) return {};
  Section out{"Run time against the static verdict"};
  out.prose = "The log is the truth for the torch that wrote it; where native_functions.yaml disagrees, the yaml is of "
              "another torch, the op is not an aten op, or it falls back inside a composite the yaml cannot see:\n\n";
  for (const auto& i : items) out.prose += "- " + i + "\n";
  out.prose += "\n";
  return out;
}

Section signatures_section(const LogSummary& in) {
  constexpr size_t kOps = 10, kSignatures = 5;
  const auto& lines = in.lines;
  bool any = false;
  for (const auto& l : lines) any = any || !l.totals->signatures.empty();
  if (!any) return {};
  Section out{"Calls by tensor signature"};
  out.prose = "From the per-call lines: the tensors handed to the fallback (device:dtype[sizes]), the busiest first; "
              "every signature is in results/&lt;op&gt;.csv.\n\n";
  Table t({{"op"}, {"tensors"}, {"calls", Align::kRight}, {"total (ms)", Align::kRight}, {"copy overhead", Align::kRight}});
  for (size_t i = 0; i < lines.size() && i < kOps; ++i) {
    std::vector<const mps_log::SignatureTotals*> sigs;
    for (const auto& sig : lines[i].totals->signatures) sigs.push_back(&sig);
    std::stable_sort(sigs.begin(), sigs.end(), [](auto* a, auto* b) {
      const double ta = a->total_ms.value_or(-1), tb = b->total_ms.value_or(-1);
      return ta != tb ? ta > tb : a->calls > b->calls;
    });
    for (size_t j = 0; j < sigs.size() && j < kSignatures; ++j)
      t.add_row({code(lines[i].totals->op), code(sigs[j]->signature), std::to_string(sigs[j]->calls),
                 format_or_dash(sigs[j]->total_ms), format_bytes(sigs[j]->copy.bytes)});
    if (sigs.size() > kSignatures)
      t.add_row({code(lines[i].totals->op), "… " + std::to_string(sigs.size() - kSignatures) + " more", "", "", ""});
  }
  out.table = std::move(t);
  return out;
}

Section notes_section(const LogSummary& in) {
  if (in.s.notes.empty()) return {};
  Section out{"Notes on this log"};
  for (const auto& n : in.s.notes) out.prose += "- " + text(n) + "\n";
  out.prose += "\n";
  return out;
}

Section how_to_read(const LogSummary&) {
  Section out{"How to read this"};
  out.prose =
      "- The numbers are PyTorch's own: the MPS profiler (`PYTORCH_MPS_LOG_PROFILE_INFO`, bits 4 | 64 | 128) times "
      "each call of `at::native::cpu_fallback` with a wall clock (CLOCK_MONOTONIC_RAW): the copies of the inputs "
      "to the CPU (each one a blit that waits for all queued GPU work), the CPU kernel, and the copies back. "
      "**total** is the sum over the op's calls, **mean** the total over the calls.\n"
      "- **share of fallback time**: the op's part of all fallback time in the log. **% of run**: the op's "
      "fallback time over the run's wall time (`--wall-s`, `tools/profile_run.sh` measures it): what the run "
      "would save at most with a kernel as fast as free; a native kernel costs something too, and the wall time "
      "includes start-up, imports and data loading.\n"
      "- **copy overhead** is the profiler's `CopyOverhead`, summed: the bytes of the tensor arguments on the "
      "stack *before* the fallback runs, plus the tensors among the last R stack entries (R = the op's number "
      "of returns), which at that point are again the last R **arguments**: the outputs are never counted, and "
      "a tensor that is among the last R arguments is counted twice (right for an `out=` variant, whose out "
      "tensor is copied both ways; wrong for a functional op such as `heaviside(self, values)`, whose `values` is "
      "counted twice and whose output not at all). Tensor lists "
      "are not counted. Read it as \"about the bytes moved\", not as the bytes moved (docs/reports.md).\n"
      "- The op names are schema names without the overload (`aten::isin`, not `aten::isin.Tensor_Tensor`): "
      "votes and links are those of the targets file's entries for any overload of it (votes: the highest).\n"
      "- **MPS verdict** is `falls back` for every op here, from the run itself; the **static verdict** (with "
      "`--verdict-torch`, `--torch-source` or `--native-functions`) is what that torch's native_functions.yaml "
      "says, over the op's overloads.\n";
  return out;
}

// The summary's first sentences: what fell back, how much of it is requested, the top three.
std::string answer(const LogSummary& in, const std::string& head) {
  std::string out = head;
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  out += ".";
  if (in.s.outcome != Outcome::kFallbacks) return out;
  if (in.o.demand) {
    const size_t requested = static_cast<size_t>(
        std::count_if(in.lines.begin(), in.lines.end(), [](const Line& l) { return !l.demand.entries.empty(); }));
    out += " " + std::to_string(requested) + " of " + (in.lines.size() == 1 ? "it" : "them") + " " +
           (requested == 1 ? "is" : "are") + " requested in " + code(in.o.demand->path) + ".";
  }
  std::vector<std::string> top;
  for (size_t i = 0; i < in.lines.size() && i < 3; ++i) {
    const OpTotals& op = *in.lines[i].totals;
    top.push_back(code(op.op) + (op.total_ms ? " (" + format_short(*op.total_ms) + " ms)" : ""));
  }
  return out + " Top fallback: " + join(top, ", ") + ".";
}

// The log summary's sections, in order: the answer first, the log's context last. To add a
// table, add its function here.
using SectionFn = Section (*)(const LogSummary&);
constexpr SectionFn kSections[] = {top_section,   unrequested_section, findings_section, signatures_section,
                                   notes_section, how_to_read,         context_section};

}  // namespace

StaticVerdicts static_verdicts_of(verdicts::Book book, const std::string& path) {
  std::set<std::string> entries;
  if (book.yaml())
    for (const auto& [name, e] : book.yaml()->entries) entries.insert(name);
  return StaticVerdicts{std::move(book), std::move(entries), path};
}

std::string add_log_report(OutputSet& out, const mps_log::Log& log, const LogReportOptions& options) {
  mps_log::Summary s = mps_log::summarize(log);
  double known_ms = 0;  // the ops with a time: more than the run is worth a note even when some have none
  for (const auto& op : s.ops) known_ms += op.total_ms.value_or(0);
  if (options.wall_s && known_ms > *options.wall_s * 1000)
    s.notes.push_back("the fallback time (" + format_short(known_ms) + " ms) exceeds the wall time (" +
                      format_short(*options.wall_s) + " s): several processes or threads fell back at once, or the log "
                      "is not of the run that was timed; read the % of run with care");
  LogSummary in{log, s, options, {}};
  const EntriesByName entries = entries_by_name(options.demand);
  std::vector<const OpTotals*> all;
  for (const auto& op : s.ops) {
    Line l;
    l.totals = &op;
    l.demand = demand_of(options.demand, entries, op.op);
    if (options.static_verdicts) l.statik = static_verdict(*options.static_verdicts, op.op);
    in.lines.push_back(std::move(l));
    all.push_back(&op);
    out.add((std::filesystem::path(options.results_dir) / op_file_name(op.op)).string(),
            to_csv(signature_table({&op}, false)));
  }
  out.add(options.cases_csv, to_csv(signature_table(all, true)));

  const std::string head = headline(s, options.wall_s);
  Report r;
  r.title = "MPS fallback report: profiler log";
  r.opening = answer(in, head) + " From " + code(log.path) + ", the MPS profiler's output of a real run; demand from " +
              (options.demand ? code(options.demand->path) : std::string("no targets file")) + ".\n\n";
  for (const SectionFn f : kSections) r.sections.push_back(f(in));
  add_report(out, r, options.summary, std::filesystem::path(options.cases_csv).parent_path().string());
  return head;
}

}  // namespace mpsfb::report
