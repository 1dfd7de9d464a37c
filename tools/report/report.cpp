#include "report.h"

#include "text.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace mpsfb::report {

namespace {

bool on_device(const Case& c) { return c.device != "cpu"; }

std::string cell(const std::optional<double>& v) { return v ? format_number(*v) : std::string(); }

std::string label_value(const Case& c, const std::string& key) {
  const auto it = c.label.find(key);
  return it == c.label.end() ? std::string() : it->second;
}

}  // namespace

std::string FallbackStatus::text() const {
  switch (kind) {
    case Kind::kYes:
      return "yes";
    case Kind::kPartly:
      return "yes (" + std::to_string(falling) + "/" + std::to_string(measured) + " cases)";
    case Kind::kNo:
      return "no";
    case Kind::kEmulated:
      return "emulated";
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
    const auto f = c->counter("fallback");
    if (!f) continue;
    ++s.measured;
    if (*f != 0) {
      ++s.falling;
      for (const auto& o : split(label_value(*c, "fallback_ops"), ","))
        if (!o.empty()) inner.insert(o);
    }
  }
  s.fallback_ops.assign(inner.begin(), inner.end());
  if (!any_ok) {
    s.kind = FallbackStatus::Kind::kNoData;
    s.no_data_reason = any_error ? "error" : "skipped";
  } else if (s.measured == 0) {
    s.kind = FallbackStatus::Kind::kCpuOnly;
  } else if (m.ctx("fallback_mode") == "emulate") {
    s.kind = FallbackStatus::Kind::kEmulated;
  } else if (s.falling == 0) {
    s.kind = FallbackStatus::Kind::kNo;
  } else {
    s.kind = s.falling == s.measured ? FallbackStatus::Kind::kYes : FallbackStatus::Kind::kPartly;
  }
  return s;
}

Table case_table(const std::vector<const Case*>& cases, bool with_op) {
  std::vector<Column> cols;
  if (with_op) cols.push_back({"op"});
  for (const char* h : {"shape", "dtype", "device", "cpu_us", "dev_us", "native_us", "penalty", "overhead_us",
                        "floor_us", "copy_efficiency", "fallback", "fallback_ops", "bytes", "status", "error"})
    cols.push_back({h});
  Table t(cols);
  for (const Case* c : cases) {
    std::vector<std::string> row;
    if (with_op) row.push_back(c->op);
    row.insert(row.end(), {c->shape, c->dtype, c->device});
    for (const char* k : {"cpu_us", "dev_us", "native_us", "penalty", "overhead_us", "floor_us", "copy_efficiency",
                          "fallback"})
      row.push_back(cell(c->counter(k)));
    row.push_back(label_value(*c, "fallback_ops"));
    row.push_back(cell(c->counter("bytes")));
    row.push_back(to_string(c->status));
    row.push_back(c->error);
    t.add_row(std::move(row));
  }
  return t;
}

std::optional<double> pain_score(std::optional<long long> votes, std::optional<double> median_overhead_us) {
  if (!median_overhead_us || std::isnan(*median_overhead_us)) return std::nullopt;
  const double v = static_cast<double>(votes.value_or(0));
  return std::log2(1.0 + v) * std::log2(1.0 + std::max(0.0, *median_overhead_us));
}

namespace {

// One line of the Top Pain table, before formatting.
struct OpLine {
  std::string op;
  std::optional<long long> votes;
  std::vector<std::string> links;
  FallbackStatus fallback;
  std::optional<double> penalty_min, penalty_max, median_overhead, pain;
  size_t ok = 0, total = 0;
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
  std::vector<double> overheads;
  for (const Case* c : m.cases_of(op)) {
    ++l.total;
    if (c->status != Status::kOk) continue;
    ++l.ok;
    if (const auto p = c->counter("penalty"); p && !std::isnan(*p)) {
      l.penalty_min = l.penalty_min ? std::min(*l.penalty_min, *p) : *p;
      l.penalty_max = l.penalty_max ? std::max(*l.penalty_max, *p) : *p;
    }
    if (const auto o = c->counter("overhead_us")) overheads.push_back(*o);
  }
  l.median_overhead = median(overheads);
  l.pain = pain_score(l.votes, l.median_overhead);
  return l;
}

std::string links_cell(const std::vector<std::string>& links) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < links.size() && i < 3; ++i) parts.push_back("[" + std::to_string(i + 1) + "](" + links[i] + ")");
  return parts.empty() ? "—" : join(parts, " ");
}

std::string range_cell(const std::optional<double>& lo, const std::optional<double>& hi) {
  if (!lo) return "—";
  const std::string a = format_factor(lo), b = format_factor(hi);
  return a == b ? a : a + "–" + b;
}

std::string cases_cell(const OpLine& l) {
  return l.ok == l.total ? std::to_string(l.total) : std::to_string(l.ok) + " of " + std::to_string(l.total);
}

std::string votes_cell(const std::optional<long long>& v) { return v ? std::to_string(*v) : "—"; }

void context_section(std::ostringstream& out, const Model& m) {
  out << "## Run context\n\n";
  Table t({{"key"}, {"value"}});
  bool differ = false;
  for (const char* key : {"torch_version", "device", "device_name", "os_version", "date", "fallback_mode",
                          "PYTORCH_ENABLE_MPS_FALLBACK", "mps_build", "targets", "targets_sha1", "h2d_GBps",
                          "d2h_GBps", "sync_us", "library_build_type"}) {
    const auto it = m.context.find(key);
    t.add_row({key, it == m.context.end() ? "—" : join(it->second, " | ")});
    differ = differ || (it != m.context.end() && it->second.size() > 1);
  }
  out << to_markdown(t);
  if (differ) out << "\nWhere the input files differ, their values are separated by \"|\", in file order.\n";
  out << "\n";
}

void pain_section(std::ostringstream& out, const std::vector<OpLine>& lines, bool have_demand) {
  out << "## Top pain\n\n"
      << "pain = log2(1 + votes) × log2(1 + max(0, median overhead_us)): both demand and cost span orders of "
         "magnitude, so each counts by its logarithm and neither a viral request nor one huge tensor drowns the "
         "other; an op nobody asked for, or one that loses nothing, scores 0.\n\n";
  if (!have_demand) out << "No targets file was read: votes count as 0 and links are unknown.\n\n";
  Table t({{"rank", Align::kRight},
           {"op"},
           {"pain", Align::kRight},
           {"votes", Align::kRight},
           {"requests"},
           {"falls back here?"},
           {"penalty range"},
           {"median overhead (µs)", Align::kRight},
           {"cases", Align::kRight}});
  size_t rank = 0;
  for (const auto& l : lines)
    t.add_row({std::to_string(++rank), "`" + l.op + "`", l.pain ? format_short(*l.pain) : "—", votes_cell(l.votes),
               links_cell(l.links), l.fallback.text(), range_cell(l.penalty_min, l.penalty_max),
               format_or_dash(l.median_overhead), cases_cell(l)});
  if (t.empty())
    out << "No op cases in the input.\n\n";
  else
    out << to_markdown(t) << "\n";
  if (std::none_of(lines.begin(), lines.end(), [](const OpLine& l) { return l.pain.has_value(); }) && !lines.empty())
    out << "No case ran on a device, so there is no overhead to score: ops are ordered by votes.\n\n";
}

void native_section(std::ostringstream& out, const Model& m, const std::vector<OpLine>& lines) {
  out << "## Native now\n\n";
  const bool any_device = std::any_of(m.cases.begin(), m.cases.end(), [](const Case& c) { return on_device(c); });
  if (!any_device) {
    out << "Not applicable: this run measured the CPU only (device cpu), which says nothing about the fallback.\n\n";
    return;
  }
  if (m.ctx("fallback_mode") == "emulate") {
    out << "Not applicable: in emulate mode every measured op is routed through the fallback on purpose.\n\n";
    return;
  }
  Table t({{"op"}, {"votes", Align::kRight}, {"penalty range"}, {"cases", Align::kRight}});
  for (const auto& l : lines)
    if (l.fallback.kind == FallbackStatus::Kind::kNo)
      t.add_row({"`" + l.op + "`", votes_cell(l.votes), range_cell(l.penalty_min, l.penalty_max), cases_cell(l)});
  if (t.empty()) {
    out << "None: every op that ran falls back on this build.\n\n";
    return;
  }
  out << "Ops whose cases all ran without the fallback on this build (fallback counter 0). If they are still "
         "requested, the request may be out of date, or about another dtype or shape.\n\n"
      << to_markdown(t) << "\n";
}

void failures_section(std::ostringstream& out, const Model& m) {
  out << "## Errored and skipped cases\n\n";
  Table t({{"case"}, {"status"}, {"reason"}});
  for (const auto& c : m.cases)
    if (c.status != Status::kOk) t.add_row({"`" + c.name + "`", to_string(c.status), c.error});
  for (const auto& w : m.workloads)
    if (w.status != Status::kOk)
      t.add_row({"`workload:" + w.name + "/device:" + w.device + "`", to_string(w.status), w.error});
  if (t.empty())
    out << "None.\n\n";
  else
    out << to_markdown(t) << "\n";
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

void workload_section(std::ostringstream& out, const Model& m) {
  if (m.workloads.empty()) return;
  out << "## Workloads\n\n"
      << "How much of a whole model's op time and calls went through the fallback.\n\n";
  Table t({{"workload"},
           {"device"},
           {"fallback % of op time", Align::kRight},
           {"fallback % of calls", Align::kRight},
           {"ops per pass", Align::kRight},
           {"top fallback ops"}});
  for (const auto& w : m.workloads) {
    if (w.status != Status::kOk) continue;
    const auto top = w.label.find("top_fallback");
    t.add_row({w.name, w.device, format_or_dash(w.counter("fallback_pct")), format_or_dash(w.counter("fallback_calls_pct")),
               format_or_dash(w.counter("total_ops")), top_fallback_cell(top == w.label.end() ? "" : top->second)});
  }
  out << (t.empty() ? std::string("No workload ran (see the errored cases).\n\n") : to_markdown(t) + "\n");
}

void plots_section(std::ostringstream& out, const std::vector<std::string>& plots) {
  if (plots.empty()) return;
  out << "## Plots\n\n";
  for (const auto& p : plots) {
    std::string alt = p.substr(p.find_last_of('/') == std::string::npos ? 0 : p.find_last_of('/') + 1);
    alt = alt.substr(0, alt.rfind('.'));
    std::replace(alt.begin(), alt.end(), '_', ' ');
    out << "![" << alt << "](" << p << ")\n\n";
  }
}

void how_to_read(std::ostringstream& out) {
  out << "## How to read this\n\n"
      << "- Times are medians of per-iteration samples in µs. `cpu_us`: the op on CPU tensors; `dev_us`: the same "
         "call on device tensors, through the CPU fallback when the op falls back, synchronized.\n"
      << "- **penalty** = dev_us / cpu_us: how many times longer the device call takes than doing the work on the "
         "CPU directly; above 1× the device path costs more than the CPU alone.\n"
      << "- **overhead** = dev_us − cpu_us, the time lost per call. `floor_us` is what the copies alone should cost "
         "(bytes over the measured link plus one synchronize); `copy_efficiency` = floor_us / overhead_us: near 1, "
         "the copies explain the overhead; far below 1, something else (queue drains, dispatch, allocation) does.\n"
      << "- **falls back here?** comes from probing one call: yes = the op (or an inner op, listed as `fallback_ops` "
         "in results/&lt;op&gt;.csv) ran through the CPU fallback on this build; no = it ran natively; emulated = the "
         "run forced the fallback (`--fallback=emulate`) to price it on a device that has the kernel; n/a = a "
         "CPU-only run.\n"
      << "- Every case is in `results/<op>.csv`; `mpsfb_report --compare` diffs two runs (docs/reports.md).\n";
}

}  // namespace

std::string summary_markdown(const Model& m, const SummaryOptions& options) {
  std::vector<OpLine> lines;
  for (const auto& op : m.ops()) lines.push_back(op_line(m, op, options.demand));
  // Highest pain first; ops without a score after, by votes; then by name, for a stable order.
  std::stable_sort(lines.begin(), lines.end(), [](const OpLine& a, const OpLine& b) {
    if (a.pain.has_value() != b.pain.has_value()) return a.pain.has_value();
    if (a.pain && *a.pain != *b.pain) return *a.pain > *b.pain;
    return a.votes.value_or(-1) > b.votes.value_or(-1);
  });

  size_t ok = 0, errored = 0, skipped = 0;
  for (const auto& c : m.cases) (c.status == Status::kOk ? ok : c.status == Status::kError ? errored : skipped)++;

  std::ostringstream out;
  out << "# MPS fallback report\n\n";
  std::vector<std::string> files;
  for (const auto& f : m.files) files.push_back("`" + f + "`");
  out << "From " << join(files, ", ") << "; demand from "
      << (options.demand ? "`" + options.demand->path + "`" : std::string("no targets file")) << ". "
      << m.cases.size() << " cases of " << lines.size() << " ops: " << ok << " ok, " << errored << " errored, "
      << skipped << " skipped.\n\n";
  context_section(out, m);
  pain_section(out, lines, options.demand != nullptr);
  native_section(out, m, lines);
  failures_section(out, m);
  workload_section(out, m);
  plots_section(out, options.plots);
  how_to_read(out);
  return out.str();
}

}  // namespace mpsfb::report
