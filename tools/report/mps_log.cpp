#include "mps_log.h"

#include "text.h"

#include "mps_messages.h"
#include "regular_file.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <cctype>
#include <cstring>
#include <limits>
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

// Note [The log is scanned by hand]: the log is any program's stderr, and std::regex matches
// by recursion, one frame per character in libstdc++: a call line listing 1,500 tensors or a
// warning naming a 30,000-character op overflowed the stack (SIGSEGV). Every form below is
// read by a Scan over the line instead, and every number is range-checked (kMaxNumber).

// Larger printed numbers are not the profiler's: 1e15 runs at a microsecond each, or 1e15 ms,
// is 30 years; a 400-digit time read as a double became inf ("inf%"), a run count beyond 2^64
// wrapped. Sums of many such numbers stay exact in a double and far from uint64's end.
constexpr double kMaxNumber = 1e15;

// A cursor over one line; each reader consumes its form, or nothing and returns false.
struct Scan {
  const std::string& s;
  size_t i = 0;

  bool done() const { return i == s.size(); }
  bool lit(const char* text) {
    const size_t n = std::char_traits<char>::length(text);
    if (s.compare(i, n, text) != 0) return false;
    i += n;
    return true;
  }
  size_t skip_spaces() {
    const size_t from = i;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return i - from;
  }
  bool digits(std::string* out) {
    const size_t from = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (out) *out = s.substr(from, i - from);
    return i > from;
  }
  // [0-9]+(\.[0-9]+)?
  bool number(std::string* out) {
    const size_t from = i;
    if (!digits(nullptr)) return false;
    if (i + 1 < s.size() && s[i] == '.' && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      ++i;
      digits(nullptr);
    }
    *out = s.substr(from, i - from);
    return true;
  }
  // [A-Za-z_][A-Za-z0-9_]* (first_alpha: [A-Za-z] first); `more` adds characters allowed after the first.
  bool ident(bool first_alpha, const char* more = "") {
    if (i >= s.size()) return false;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (!(std::isalpha(c) || (!first_alpha && c == '_'))) return false;
    for (++i; i < s.size(); ++i) {
      const unsigned char d = static_cast<unsigned char>(s[i]);
      if (!(std::isalnum(d) || d == '_' || (d != 0 && std::strchr(more, d) != nullptr))) break;
    }
    return true;
  }
  // <number> <unit>, with exactly one space (format_size).
  bool size(std::string* number_text, std::string* unit) {
    const size_t from = i;
    if (number(number_text) && lit(" "))
      for (const char* u : {"bytes", "KiB", "MiB", "GiB", "KB", "MB", "GB"})
        if (lit(u)) {
          *unit = u;
          return true;
        }
    i = from;
    return false;
  }
};

// A printed number within kMaxNumber; nullopt beyond it.
std::optional<double> bounded(const std::string& text) {
  const double v = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(v) || v > kMaxNumber) return std::nullopt;
  return v;
}

[[noreturn]] void fail(const std::string& path, int line, const std::string& what) {
  throw std::runtime_error(path + ":" + std::to_string(line) + ": " + what);
}

// A line quoted in a message: cut when long, control characters shown (a NUL cut the message).
std::string quoted(const std::string& s) {
  const size_t kMax = 160;
  return "'" + printable(s.size() > kMax ? s.substr(0, kMax) + "..." : s) + "'";
}

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

// A count within kMaxNumber; nullopt beyond it.
std::optional<uint64_t> bounded_count(const std::string& digits) {
  if (digits.size() > 16) return std::nullopt;
  const uint64_t v = std::strtoull(digits.c_str(), nullptr, 10);
  if (static_cast<double>(v) > kMaxNumber) return std::nullopt;
  return v;
}

std::string too_large(const std::string& what, const std::string& text) {
  return what + " " + (text.size() > 40 ? text.substr(0, 40) + "... (" + std::to_string(text.size()) + " digits)" : text) +
         " is larger than any the profiler prints (expected: at most 1e15)";
}

// The tensors after the op name: ":MPS:Float[64, 64]:MPS(buf#3:2):Half[]:undefined", each
// ":undefined" or ":<device>[(buf#N:N)]:<dtype>[<sizes>]".
std::optional<std::vector<std::string>> parse_tensors(const std::string& rest) {
  std::vector<std::string> out;
  Scan sc{rest};
  while (!sc.done()) {
    if (!sc.lit(":")) return std::nullopt;
    const size_t from = sc.i;
    if (!sc.lit("undefined") || (!sc.done() && rest[sc.i] != ':')) {
      sc.i = from;
      if (!sc.ident(true)) return std::nullopt;
      if (sc.lit("(buf#")) {
        if (!sc.digits(nullptr) || !sc.lit(":") || !sc.digits(nullptr) || !sc.lit(")")) return std::nullopt;
      }
      if (!sc.lit(":") || !sc.ident(true) || !sc.lit("[")) return std::nullopt;
      while (!sc.done() && (std::isdigit(static_cast<unsigned char>(rest[sc.i])) || rest[sc.i] == ',' ||
                            rest[sc.i] == ' '))
        ++sc.i;
      if (!sc.lit("]")) return std::nullopt;
    }
    out.push_back(rest.substr(from, sc.i - from));
  }
  return out;
}

Call parse_call(const std::string& text, const std::string& path, int line) {
  // The key holds spaces ("[64, 64]") and parentheses ("(buf#3:2)"): the fields start at the last " (id=".
  const std::string body = text.substr(std::string(kCallMarker).size());
  const size_t fields_at = body.rfind(" (id=");
  const auto malformed = [&] {
    fail(path, line, "malformed CPU fallback line " + quoted(text) + " (expected: " + kCallForm + ")");
  };
  if (fields_at == std::string::npos) malformed();
  const std::string key = body.substr(0, fields_at);
  const std::string fields = body.substr(fields_at + 1);
  // (id=N, run=N, CopyOverhead=<size>[, cpu=X ms])
  Scan f{fields};
  std::string id, run, size_number, unit, cpu;
  if (!f.lit("(id=") || !f.digits(&id) || !f.lit(", run=") || !f.digits(&run) || !f.lit(", CopyOverhead=") ||
      !f.size(&size_number, &unit))
    malformed();
  const bool timed = f.lit(", cpu=");
  if (timed && (!f.number(&cpu) || !f.lit(" ms"))) malformed();
  if (!f.lit(")")) malformed();
  f.skip_spaces();
  if (!f.done()) malformed();
  // <namespace>::<name>[.overload], then the tensors
  Scan k{key};
  if (!k.ident(false) || !k.lit("::") || !k.ident(false, "."))
    fail(path, line, "CPU fallback line without an op name: " + quoted(text) + " (expected: " + kCallForm + ")");
  Call c;
  c.line = line;
  c.op = key.substr(0, k.i);
  const auto tensors = parse_tensors(key.substr(k.i));
  if (!tensors)
    fail(path, line, "cannot read the tensors of " + c.op + " in " + quoted(text) +
                         " (expected: ':<device>:<dtype>[<sizes>]' per tensor, e.g. ':MPS:Float[64, 64]')");
  c.tensors = *tensors;
  const auto id_n = bounded_count(id), run_n = bounded_count(run);
  if (!id_n || !run_n) fail(path, line, too_large(id_n ? "run" : "id", id_n ? run : id));
  c.id = *id_n;
  c.run = *run_n;
  const auto copy = parse_size(size_number + " " + unit);
  if (!copy) fail(path, line, too_large("CopyOverhead", size_number));
  c.copy = *copy;
  if (timed) {
    c.cpu_ms = bounded(cpu);
    if (!c.cpu_ms) fail(path, line, too_large("cpu", cpu));
  }
  return c;
}

struct TableParser {
  const std::vector<std::string>& lines;
  const std::string& path;

  // Reads the table whose title is at index i; returns the index of the first line after it.
  size_t read(size_t i, ExitTable& t) const {
    const int title_line = static_cast<int>(i) + 1;
    const std::string& title = lines[i];
    // [-]* CPU Fallback Profiling: Total N Runs, X ms, <size> Copies [-]*
    const auto bad_title = [&] {
      fail(path, title_line,
           "malformed exit table title " + quoted(title) +
               " (expected: '--- CPU Fallback Profiling: Total N Runs, X ms, <size> Copies ---')");
    };
    Scan ts{title, title.find(kTableMarker)};
    std::string runs_text, ms_text, title_size, title_unit;
    if (!ts.lit(kTableMarker) || !ts.digits(&runs_text) || !ts.lit(" Runs, ") || !ts.number(&ms_text) ||
        !ts.lit(" ms, ") || !ts.size(&title_size, &title_unit) || !ts.lit(" Copies"))
      bad_title();
    ts.skip_spaces();
    while (!ts.done() && title[ts.i] == '-') ++ts.i;
    ts.skip_spaces();
    if (!ts.done()) bad_title();
    const auto total_runs = bounded_count(runs_text);
    const auto title_ms = bounded(ms_text);
    const auto total_copy = parse_size(title_size + " " + title_unit);
    if (!total_runs) fail(path, title_line, too_large("Total runs", runs_text));
    if (!title_ms) fail(path, title_line, too_large("Total ms", ms_text));
    if (!total_copy) fail(path, title_line, too_large("Copies", title_size));
    t.line = title_line;
    t.total_runs = *total_runs;
    t.total_ms = *title_ms;
    t.total_copy = *total_copy;
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
      // ID #Runs Mean Total <size> Name, separated by white space
      const auto bad_row = [&] {
        fail(path, static_cast<int>(j) + 1,
             "malformed exit table row " + quoted(row) +
                 " (expected: ID #Runs 'Mean CPU(ms)' 'Total CPU(ms)' '<size>' 'Operation Name')");
      };
      Scan sc{row};
      std::string id, n, mean, total, size_number, unit;
      sc.skip_spaces();
      if (!sc.digits(&id) || !sc.skip_spaces() || !sc.digits(&n) || !sc.skip_spaces() || !sc.number(&mean) ||
          !sc.skip_spaces() || !sc.number(&total) || !sc.skip_spaces() || !sc.size(&size_number, &unit) ||
          !sc.skip_spaces())
        bad_row();
      const size_t name_at = sc.i;
      while (!sc.done() && !std::isspace(static_cast<unsigned char>(row[sc.i]))) ++sc.i;
      if (sc.i == name_at) bad_row();
      const std::string name = row.substr(name_at, sc.i - name_at);
      sc.skip_spaces();
      if (!sc.done()) bad_row();
      TableRow r;
      r.line = static_cast<int>(j) + 1;
      const auto id_n = bounded_count(id), runs_n = bounded_count(n);
      const auto mean_ms = bounded(mean), total_ms = bounded(total);
      const auto copy = parse_size(size_number + " " + unit);
      if (!id_n || !runs_n || !mean_ms || !total_ms || !copy)
        fail(path, r.line, !id_n ? too_large("ID", id)
                     : !runs_n ? too_large("#Runs", n)
                     : !mean_ms ? too_large("Mean CPU(ms)", mean)
                     : !total_ms ? too_large("Total CPU(ms)", total)
                                 : too_large("Copy Overhead", size_number));
      r.id = *id_n;
      r.runs = *runs_n;
      r.mean_ms = *mean_ms;
      r.total_ms = *total_ms;
      r.copy = *copy;
      r.op = name;
      if (runs > std::numeric_limits<uint64_t>::max() - r.runs)
        fail(path, r.line, "the exit table's runs add up to more than 2^64");
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
  Scan sc{text};
  std::string number_text, unit;
  if (!sc.size(&number_text, &unit) || !sc.done()) return std::nullopt;
  static const std::map<std::string, double> kUnit = {{"bytes", 1.0},          {"KiB", 1024.0},
                                                      {"KB", 1024.0},          {"MiB", 1048576.0},
                                                      {"MB", 1048576.0},       {"GiB", 1073741824.0},
                                                      {"GB", 1073741824.0}};
  Size s;
  s.unit = unit;
  s.exact = s.unit == "bytes";
  if (s.exact && number_text.find('.') != std::string::npos) return std::nullopt;
  const auto v = bounded(number_text);
  if (!v) return std::nullopt;
  // Bytes are whole; a rounded size decodes to the nearest byte of what was printed.
  s.bytes = std::round(*v * kUnit.at(s.unit));
  return s;
}

std::string Call::signature() const { return tensors.empty() ? "(no tensors)" : join(tensors, ":"); }

Log parse(const std::string& text, const std::string& path) {
  std::vector<std::string> lines = split(text, "\n");
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (auto& l : lines)
    if (!l.empty() && l.back() == '\r') l.pop_back();

  Log log;
  log.path = path;
  log.lines = static_cast<int>(lines.size());
  const TableParser tables{lines, path};
  for (size_t i = 0; i < lines.size();) {
    const std::string& l = lines[i];
    const int n = static_cast<int>(i) + 1;
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
    } else if (const std::string warned = op_in_fallback_warning(l); !warned.empty()) {
      add_unique(log.warned_ops, warned);
    } else if (const std::string raised = op_in_not_implemented(l); !raised.empty()) {
      add_unique(log.not_implemented, raised);
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
