#include "mps_log.h"

#include "text.h"

#include "regular_file.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <stdexcept>

namespace mpsfb::report::mps_log {

namespace {

// Markers of the profiler's lines (MPSProfiler.mm: CpuFbInfo::toString, logCPUFallbackProfilingStats).
constexpr const char* kCallMarker = "CPU Fallback::";
constexpr const char* kTableMarker = "CPU Fallback Profiling: Total ";
constexpr const char* kNoneLogged = "There are no CPU Fallbacks logged for profiling";
constexpr const char* kCallForm =
    "CPU Fallback::<op>[:<tensor>...] (id=N, run=N, CopyOverhead=<size>[, cpu=X ms])";
constexpr const char* kHeader = "ID | #Runs | Mean CPU(ms) | Total CPU(ms) | Copy Overhead | Operation Name";

// A size as format_size prints it (the number, one space, the unit).
constexpr const char* kSizeRe = R"(([0-9]+(?:\.[0-9]+)?) (bytes|KiB|MiB|GiB|KB|MB|GB))";
constexpr const char* kNumberRe = R"([0-9]+(?:\.[0-9]+)?)";

[[noreturn]] void fail(const std::string& path, int line, const std::string& what) {
  throw std::runtime_error(path + ":" + std::to_string(line) + ": " + what);
}

std::string quoted(const std::string& s) {
  const size_t kMax = 160;
  return "'" + (s.size() > kMax ? s.substr(0, kMax) + "..." : s) + "'";
}

double number(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

std::string collapse_spaces(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

bool only_dashes(const std::string& s) {
  return !s.empty() && s.find_first_not_of('-') == std::string::npos;
}

// The tensors after the op name: ":MPS:Float[64, 64]:MPS(buf#3:2):Half[]:undefined".
std::optional<std::vector<std::string>> parse_tensors(const std::string& rest) {
  static const std::regex kTensor(R"(:(undefined|[A-Za-z][A-Za-z0-9_]*(?:\(buf#[0-9]+:[0-9]+\))?:[A-Za-z][A-Za-z0-9_]*\[[0-9, ]*\]))");
  std::vector<std::string> out;
  auto it = rest.cbegin();
  std::smatch m;
  while (it != rest.cend()) {
    if (!std::regex_search(it, rest.cend(), m, kTensor, std::regex_constants::match_continuous)) return std::nullopt;
    out.push_back(m[1].str());
    it = m[0].second;
  }
  return out;
}

Call parse_call(const std::string& text, const std::string& path, int line) {
  // The key holds spaces ("[64, 64]") and parentheses ("(buf#3:2)"): the fields start at the last " (id=".
  static const std::regex kFields(std::string(R"(\(id=([0-9]+), run=([0-9]+), CopyOverhead=)") + kSizeRe +
                                  R"((?:, cpu=()" + kNumberRe + R"() ms)?\)\s*)");
  static const std::regex kOp(R"(([A-Za-z_][A-Za-z0-9_]*::[A-Za-z_][A-Za-z0-9_.]*)(.*))");
  const std::string body = text.substr(std::string(kCallMarker).size());
  const size_t fields_at = body.rfind(" (id=");
  std::smatch f, o;
  const std::string key = fields_at == std::string::npos ? body : body.substr(0, fields_at);
  const std::string fields = fields_at == std::string::npos ? "" : body.substr(fields_at + 1);
  if (fields_at == std::string::npos || !std::regex_match(fields, f, kFields))
    fail(path, line, "malformed CPU fallback line " + quoted(text) + " (expected: " + kCallForm + ")");
  if (!std::regex_match(key, o, kOp))
    fail(path, line, "CPU fallback line without an op name: " + quoted(text) + " (expected: " + kCallForm + ")");
  Call c;
  c.line = line;
  c.op = o[1].str();
  const auto tensors = parse_tensors(o[2].str());
  if (!tensors)
    fail(path, line, "cannot read the tensors of " + c.op + " in " + quoted(text) +
                         " (expected: ':<device>:<dtype>[<sizes>]' per tensor, e.g. ':MPS:Float[64, 64]')");
  c.tensors = *tensors;
  c.id = std::strtoull(f[1].str().c_str(), nullptr, 10);
  c.run = std::strtoull(f[2].str().c_str(), nullptr, 10);
  c.copy = *parse_size(f[3].str() + " " + f[4].str());
  if (f[5].matched) c.cpu_ms = number(f[5].str());
  return c;
}

struct TableParser {
  const std::vector<std::string>& lines;
  const std::string& path;

  // Reads the table whose title is at index i; returns the index of the first line after it.
  size_t read(size_t i, ExitTable& t) const {
    static const std::regex kTitle(std::string(R"(-* CPU Fallback Profiling: Total ([0-9]+) Runs, ()") + kNumberRe +
                                   R"() ms, )" + kSizeRe + R"( Copies -*\s*$)");
    static const std::regex kRow(std::string(R"(\s*([0-9]+)\s+([0-9]+)\s+()") + kNumberRe + R"()\s+()" + kNumberRe +
                                 R"()\s+)" + kSizeRe + R"(\s+(\S+)\s*)");
    const int title_line = static_cast<int>(i) + 1;
    std::smatch m;
    const std::string& title = lines[i];
    if (!std::regex_search(title, m, kTitle))
      fail(path, title_line,
           "malformed exit table title " + quoted(title) +
               " (expected: '--- CPU Fallback Profiling: Total N Runs, X ms, <size> Copies ---')");
    t.line = title_line;
    t.total_runs = std::strtoull(m[1].str().c_str(), nullptr, 10);
    t.total_ms = number(m[2].str());
    t.total_copy = *parse_size(m[3].str() + " " + m[4].str());
    if (i + 2 >= lines.size())
      fail(path, title_line, "the exit table ends after its title (expected: the header '" + std::string(kHeader) +
                                 "', a line of dashes, then one row per op)");
    if (collapse_spaces(lines[i + 1]) != kHeader)
      fail(path, title_line + 1, "expected the exit table's header '" + std::string(kHeader) + "', got " +
                                     quoted(lines[i + 1]));
    if (!only_dashes(collapse_spaces(lines[i + 2])))
      fail(path, title_line + 2, "expected the line of dashes under the exit table's header, got " +
                                     quoted(lines[i + 2]));
    size_t j = i + 3;
    uint64_t runs = 0;
    double ms = 0;
    for (; j < lines.size(); ++j) {
      const std::string& row = lines[j];
      const size_t first = row.find_first_not_of(" \t");
      if (first == std::string::npos || !std::isdigit(static_cast<unsigned char>(row[first]))) break;
      if (!std::regex_match(row, m, kRow))
        fail(path, static_cast<int>(j) + 1,
             "malformed exit table row " + quoted(row) +
                 " (expected: ID #Runs 'Mean CPU(ms)' 'Total CPU(ms)' '<size>' 'Operation Name')");
      TableRow r;
      r.line = static_cast<int>(j) + 1;
      r.id = std::strtoull(m[1].str().c_str(), nullptr, 10);
      r.runs = std::strtoull(m[2].str().c_str(), nullptr, 10);
      r.mean_ms = number(m[3].str());
      r.total_ms = number(m[4].str());
      r.copy = *parse_size(m[5].str() + " " + m[6].str());
      r.op = m[7].str();
      runs += r.runs;
      ms += r.total_ms;
      t.rows.push_back(std::move(r));
    }
    if (runs != t.total_runs)
      fail(path, title_line,
           "the exit table is cut short or garbled: its rows add up to " + std::to_string(runs) + " runs (" +
               std::to_string(t.rows.size()) + (t.rows.size() == 1 ? " row" : " rows") + "), its title says " +
               std::to_string(t.total_runs));
    // Title: the exact sum printed with 2 decimals; rows: each printed with 3.
    if (std::fabs(ms - t.total_ms) > 0.01 + 0.001 * static_cast<double>(t.rows.size()))
      fail(path, title_line,
           "the exit table does not add up: its rows total " + format_number(ms) + " ms, its title says " +
               format_number(t.total_ms) + " ms");
    return j;
  }
};

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

// Which format_size printed the log's sizes: "KiB" (c10's), "KB" (MPSAllocator.mm's own), or "" (bytes only).
void note_unit(Log& log, const Size& s) {
  if (s.unit == "bytes" || log.size_units == "KiB") return;
  log.size_units = s.unit.find("iB") != std::string::npos ? "KiB" : "KB";
}

}  // namespace

std::optional<Size> parse_size(const std::string& text) {
  static const std::regex kSize(kSizeRe);
  std::smatch m;
  if (!std::regex_match(text, m, kSize)) return std::nullopt;
  static const std::map<std::string, double> kUnit = {{"bytes", 1.0},          {"KiB", 1024.0},
                                                      {"KB", 1024.0},          {"MiB", 1048576.0},
                                                      {"MB", 1048576.0},       {"GiB", 1073741824.0},
                                                      {"GB", 1073741824.0}};
  Size s;
  s.unit = m[2].str();
  s.exact = s.unit == "bytes";
  if (s.exact && m[1].str().find('.') != std::string::npos) return std::nullopt;
  // Bytes are whole; a rounded size decodes to the nearest byte of what was printed.
  s.bytes = std::round(number(m[1].str()) * kUnit.at(s.unit));
  return s;
}

std::string Call::signature() const { return tensors.empty() ? "(no tensors)" : join(tensors, ":"); }

Log parse(const std::string& text, const std::string& path) {
  std::vector<std::string> lines = split(text, "\n");
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (auto& l : lines)
    if (!l.empty() && l.back() == '\r') l.pop_back();
  static const std::regex kWarned(R"(The operator '([^']+)' is not currently supported on the MPS backend)");
  static const std::regex kNotImplemented(R"(The operator '([^']+)' is not current(?:ly)? implemented for the MPS device)");

  Log log;
  log.path = path;
  log.lines = static_cast<int>(lines.size());
  const TableParser tables{lines, path};
  for (size_t i = 0; i < lines.size();) {
    const std::string& l = lines[i];
    const int n = static_cast<int>(i) + 1;
    std::smatch m;
    if (const size_t at = l.find(kCallMarker); at != std::string::npos) {
      // Whatever a progress bar left on the line before it ("\r 40%|####  |") is not part of it.
      log.calls.push_back(parse_call(l.substr(at), path, n));
      note_unit(log, log.calls.back().copy);
    } else if (l.find(kTableMarker) != std::string::npos) {
      ExitTable t;
      i = tables.read(i, t);
      note_unit(log, t.total_copy);
      for (const auto& r : t.rows) note_unit(log, r.copy);
      log.tables.push_back(std::move(t));
      continue;
    } else if (l.find(kNoneLogged) != std::string::npos) {
      log.none_logged.push_back(n);
    } else if (l.find("The operator '") == std::string::npos) {
      // the program's own output, progress bars: nothing to read (the cheap test first, logs are long)
    } else if (std::regex_search(l, m, kWarned)) {
      add_unique(log.warned_ops, m[1].str());
    } else if (std::regex_search(l, m, kNotImplemented)) {
      add_unique(log.not_implemented, m[1].str());
    }
    ++i;
  }
  return log;
}

Log read(const std::string& path) { return parse(read_regular_file(path, "the log"), path); }

std::optional<double> OpTotals::mean_ms() const {
  if (!total_ms || calls == 0) return std::nullopt;
  return *total_ms / static_cast<double>(calls);
}

namespace {

void add(Size& into, const Size& s) {
  into.bytes += s.bytes;
  into.exact = into.exact && s.exact;
  if (into.unit.empty()) into.unit = s.unit;
}

}  // namespace

Summary summarize(const Log& log) {
  Summary s;
  s.outcome = !log.calls.empty() || !log.tables.empty() ? Outcome::kFallbacks
              : !log.none_logged.empty()               ? Outcome::kNoneLogged
                                                       : Outcome::kNoProfilerOutput;
  std::vector<std::string> order;
  std::map<std::string, OpTotals> by_op;
  auto op = [&](const std::string& name) -> OpTotals& {
    auto [it, fresh] = by_op.try_emplace(name);
    if (fresh) {
      it->second.op = name;
      order.push_back(name);
    }
    return it->second;
  };

  // The per-call lines: signatures always; totals for ops no exit table has.
  std::map<std::string, std::map<std::string, size_t>> sig_index;
  std::map<std::string, bool> all_timed;
  s.per_call_times = !log.calls.empty();
  for (const auto& c : log.calls) {
    OpTotals& o = op(c.op);
    ++o.lines;
    auto [at, fresh] = sig_index[c.op].try_emplace(c.signature(), o.signatures.size());
    if (fresh) {
      o.signatures.push_back({c.signature(), 0, 0.0, Size{}});
    }
    SignatureTotals& sig = o.signatures[at->second];
    ++sig.calls;
    add(sig.copy, c.copy);
    if (c.cpu_ms && sig.total_ms)
      *sig.total_ms += *c.cpu_ms;
    else
      sig.total_ms.reset();
    auto [t, first] = all_timed.try_emplace(c.op, true);
    t->second = t->second && c.cpu_ms.has_value();
    s.per_call_times = s.per_call_times && c.cpu_ms.has_value();
  }

  std::map<std::string, uint64_t> table_runs;
  for (const auto& t : log.tables)
    for (const auto& r : t.rows) {
      OpTotals& o = op(r.op);
      if (o.source.empty()) {
        o.source = "exit table";
        o.total_ms = 0.0;
        o.copy = Size{};
      }
      o.calls += r.runs;
      *o.total_ms += r.total_ms;
      add(o.copy, r.copy);
      table_runs[r.op] += r.runs;
    }
  for (auto& [name, o] : by_op) {
    if (!o.source.empty()) continue;
    o.source = "per-call lines";
    o.calls = o.lines;
    if (all_timed[name]) o.total_ms = 0.0;
    for (const auto& sig : o.signatures) {
      add(o.copy, sig.copy);
      if (o.total_ms && sig.total_ms) *o.total_ms += *sig.total_ms;
    }
  }

  for (const auto& name : order) s.ops.push_back(by_op.at(name));
  std::stable_sort(s.ops.begin(), s.ops.end(), [](const OpTotals& a, const OpTotals& b) {
    const double ta = a.total_ms.value_or(-1), tb = b.total_ms.value_or(-1);
    if (ta != tb) return ta > tb;
    if (a.calls != b.calls) return a.calls > b.calls;
    return a.op < b.op;
  });
  s.total_ms = s.ops.empty() ? std::nullopt : std::optional<double>(0.0);
  for (const auto& o : s.ops) {
    s.calls += o.calls;
    add(s.copy, o.copy);
    if (s.total_ms && o.total_ms)
      *s.total_ms += *o.total_ms;
    else
      s.total_ms.reset();
  }

  // Where the numbers come from, and what does not agree.
  if (log.tables.size() > 1)
    s.notes.push_back(std::to_string(log.tables.size()) +
                      " exit tables (one per process that printed one, e.g. DataLoader workers or a subprocess): "
                      "their rows are summed per op");
  if (log.tables.empty() && !log.calls.empty())
    s.notes.push_back(std::string("no exit table: the run was killed before it could print one, or bit 64 ") +
                      "(CPU_FALLBACK_STATS) was not set; calls and times come from the per-call lines" +
                      (s.per_call_times ? "" : ", which carry no times without bit 128 (INCLUDE_GPU_TIME)"));
  if (!log.tables.empty() && log.calls.empty())
    s.notes.push_back("no per-call lines (bit 4, CPU_FALLBACK_INFO, not set): totals from the exit table, no tensor "
                      "signatures");
  for (const auto& o : s.ops) {
    const auto it = table_runs.find(o.op);
    if (it == table_runs.end() || log.calls.empty() || o.lines == it->second) continue;
    s.notes.push_back(o.op + ": " + std::to_string(o.lines) + " per-call lines but " + std::to_string(it->second) +
                      " runs in the exit table" +
                      (o.lines < it->second ? " (the log holds only part of the per-call output)"
                                            : " (more than one process wrote per-call lines; not all printed a table)") +
                      "; its totals are the table's");
  }
  for (const auto& o : s.ops)
    if (o.source == "exit table" && table_runs.count(o.op) && o.lines == 0 && !log.calls.empty())
      s.notes.push_back(o.op + ": in the exit table but without per-call lines");
  if (s.outcome == Outcome::kNoProfilerOutput) {
    if (!log.not_implemented.empty())
      s.notes.push_back("no profiler output, but " + join(log.not_implemented, ", ") +
                        " raised NotImplementedError: PYTORCH_ENABLE_MPS_FALLBACK was not 1, so the run stopped at the "
                        "first op without an MPS kernel instead of falling back");
    if (!log.warned_ops.empty())
      s.notes.push_back("the fallback warning names " + join(log.warned_ops, ", ") +
                        " but the profiler printed nothing: PYTORCH_MPS_LOG_PROFILE_INFO was not set (bits 4 | 64), or "
                        "this torch predates the MPS profiler (2.1)");
  }
  return s;
}

}  // namespace mpsfb::report::mps_log
