#include "trace_report.h"

#include "section.h"
#include "table.h"
#include "text.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace mpsfb::report {

namespace {

using torch_trace::Event;
using torch_trace::Kind;
using torch_trace::Trace;

// The profiler's "Input type" of a tensor -> the harness's dtype name and its size in bytes.
struct Dtype {
  const char* name;
  double bytes;
};
const Dtype* tensor_dtype(const std::string& type) {
  static const std::map<std::string, Dtype> kTypes = {
      {"float", {"f32", 4}},         {"double", {"f64", 8}},
      {"c10::Half", {"f16", 2}},     {"c10::BFloat16", {"bf16", 2}},
      {"long int", {"i64", 8}},      {"int", {"i32", 4}},
      {"short int", {"i16", 2}},     {"signed char", {"i8", 1}},
      {"unsigned char", {"u8", 1}},  {"bool", {"bool", 1}},
      {"c10::complex<float>", {"c64", 8}}, {"c10::complex<double>", {"c128", 16}},
      {"c10::complex<c10::Half>", {"c32", 4}}};
  const auto it = kTypes.find(type);
  return it == kTypes.end() ? nullptr : &it->second;
}

double numel(const std::string& dims) {
  if (dims.empty()) return 1;  // a 0-dim tensor
  double n = 1;
  for (const auto& d : split(dims, "x")) n *= std::strtod(d.c_str(), nullptr);
  return n;
}

// One call's tensors, from its types and dims.
struct Inputs {
  std::vector<std::string> types, dims, concrete;
  uint64_t tensors = 0;
  double bytes = 0, first_bytes = 0;
  std::string unsupported;  // "f64" / "c128" when a tensor MPS cannot hold is among them
  std::string signature;    // "f32[4x10x10], Scalar"
};
Inputs inputs_of(const Trace& t, const Event& e) {
  Inputs in;
  in.types = split(t.str(e.types), "|");
  in.dims = split(t.str(e.dims), "|");
  in.concrete = split(t.str(e.concrete), "|");
  if (t.str(e.types).empty()) in.types.clear();
  std::vector<std::string> sig;
  for (size_t i = 0; i < in.types.size(); ++i) {
    const std::string dims = i < in.dims.size() ? in.dims[i] : "";
    if (const Dtype* d = tensor_dtype(in.types[i])) {
      const double b = numel(dims) * d->bytes;
      if (!in.tensors) in.first_bytes = b;
      ++in.tensors;
      in.bytes += b;
      // A 0-dim tensor is most often a Python number wrapped by torch (lr in an optimizer's
      // mul_), which MPS takes from the CPU as a scalar: only tensors with dimensions count.
      if (in.unsupported.empty() && !dims.empty() && !verdicts::mps_unsupported_dtype_reason(d->name).empty())
        in.unsupported = d->name;
      sig.push_back(std::string(d->name) + "[" + dims + "]");
    } else {
      sig.push_back(in.types[i].empty() ? "None" : in.types[i]);
    }
  }
  in.signature = join(sig, ", ");
  return in;
}

// What an event is to the judging.
enum class Role { kOp, kScope };
Role role_of(const std::string& name, Kind kind) {
  if (kind != Kind::kOp) return Role::kScope;
  // record_function scopes ("Optimizer.step#AdamW.step", "ProfilerStep#3"), autograd nodes
  // ("autograd::engine::evaluate_function: MmBackward0") and the profiler's own ops are not kernels.
  if (name.find("::") == std::string::npos) return Role::kScope;
  if (name.rfind("autograd::", 0) == 0 || name.rfind("profiler::", 0) == 0) return Role::kScope;
  return Role::kOp;
}

// "kornia/geometry/epipolar/essential.py(330): find_essential" -> {"kornia/geometry/epipolar/essential.py", 330}
struct Frame {
  std::string file;
  long line = 0;
};
std::optional<Frame> parse_frame(const std::string& name) {
  const size_t open = name.rfind("): ");
  if (open == std::string::npos) return std::nullopt;
  const size_t paren = name.rfind('(', open);
  if (paren == std::string::npos || paren == 0) return std::nullopt;
  Frame f{name.substr(0, paren), std::strtol(name.c_str() + paren + 1, nullptr, 10)};
  return f;
}

// A frame of the program (not torch, not the standard library, not the recorder).
bool user_frame(const std::string& name, const std::set<std::string>& not_user) {
  if (name.empty() || name[0] == '<') return false;  // <built-in ...>, <frozen ...>, <string>
  const auto f = parse_frame(name);
  if (!f) return false;
  std::string top = f->file.substr(0, f->file.find('/'));
  if (ends_with(top, ".py")) top = top.substr(0, top.size() - 3);
  if (top == "torch" || not_user.count(top)) return false;
  return f->file.find("/site-packages/torch/") == std::string::npos;
}

// "kornia/core/utils.py(579): _torch_solve_cast" -> "kornia/core/utils.py:579 (_torch_solve_cast)". The
// profiler names a frame by the line its function starts at (a module frame open when recording
// began: the line it was at, 0 when it had not started one).
std::string line_text(const std::string& frame_name) {
  const auto f = parse_frame(frame_name);
  if (!f) return frame_name;
  const std::string function = frame_name.substr(frame_name.rfind("): ") + 3);
  return f->file + ":" + std::to_string(f->line) + " (" + function + ")";
}

struct Judged {
  std::string op, verdict, source, note;
  std::vector<std::string> via;
};

class Analyzer {
 public:
  Analyzer(const Trace& t, const verdicts::Book& book, const copy_model::Figures& copy)
      : t_(t), book_(book), copy_(copy), not_user_(t.meta.not_user_modules.begin(), t.meta.not_user_modules.end()) {
    not_user_.insert("mpsfb_preflight");
  }

  TraceAnalysis run() {
    // Each thread's events by start, the longer first: a parent before its children.
    std::vector<uint32_t> order(t_.events.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      const Event &x = t_.events[a], &y = t_.events[b];
      if (x.thread != y.thread) return x.thread < y.thread;
      if (x.ts != y.ts) return x.ts < y.ts;
      return x.dur > y.dur;
    });
    uint64_t thread = 0;
    bool first = true;
    for (const uint32_t i : order) {
      const Event& e = t_.events[i];
      if (first || e.thread != thread) {
        unwind(0);
        ++a_.threads;
        thread = e.thread;
        first = false;
      }
      while (!stack_.empty() && stack_.back().end <= e.ts) pop();
      visit(i);
    }
    unwind(0);
    return finish();
  }

 private:
  enum class State { kScope, kComposite, kDone };  // kDone: judged or inside a judged call
  struct Open {
    uint32_t event;
    double end;
    State state;
    uint32_t line;  // the innermost frame of the program at this level (interned name), 0: none
    uint32_t test;  // the innermost pytest scope
    size_t row = 0;  // composite: its row is decided when it closes
    std::set<std::string> falling;
    Judged judged;
    Inputs inputs;
  };

  void unwind(size_t depth) {
    while (stack_.size() > depth) pop();
  }

  void pop() {
    Open o = std::move(stack_.back());
    stack_.pop_back();
    if (o.state != State::kComposite) return;
    // A composite call falls back via the leaves that fell back inside it; else all its leaves are native.
    Judged j = o.judged;
    if (!o.falling.empty()) {
      j.verdict = verdict::kFallsBack;
      j.via.assign(o.falling.begin(), o.falling.end());
      j.source = book_.yaml_source() + " (composite: judged leaf by leaf from the calls it made in this trace)";
    } else {
      j.verdict = verdict::kNative;
      j.source = book_.yaml_source() + " (composite: every call it made has an MPS kernel)";
    }
    add(j, t_.events[o.event], o.inputs, o.line, o.test);
    if (!o.falling.empty())
      for (auto& up : stack_)
        if (up.state == State::kComposite) up.falling.insert(o.falling.begin(), o.falling.end());
  }

  void visit(uint32_t i) {
    const Event& e = t_.events[i];
    const std::string& name = t_.str(e.name);
    Open o{i, e.ts + e.dur, State::kScope, 0, 0, 0, {}, {}, {}};
    const Open* up = stack_.empty() ? nullptr : &stack_.back();
    o.line = up ? up->line : 0;
    o.test = up ? up->test : 0;
    if (e.kind == Kind::kPython) {
      if (user_frame(name, not_user_)) o.line = e.name;
      o.state = up ? up->state : State::kScope;
      stack_.push_back(std::move(o));
      return;
    }
    if (e.kind == Kind::kScope && name.rfind("pytest: ", 0) == 0) o.test = e.name;
    const bool judged_here = !up || up->state != State::kDone;
    if (role_of(name, e.kind) == Role::kScope) {
      ++a_.scopes;
      o.state = judged_here ? State::kScope : State::kDone;
      stack_.push_back(std::move(o));
      return;
    }
    if (!judged_here) {
      ++a_.inner_calls;
      o.state = State::kDone;
      stack_.push_back(std::move(o));
      return;
    }
    ++a_.judged_calls;
    o.inputs = inputs_of(t_, e);
    o.judged = judge(name, t_.str(e.types));
    o.state = State::kDone;
    if (!o.inputs.unsupported.empty()) {
      o.judged.verdict = verdict::kUnsupportedDtype;
      o.judged.source = std::string(verdict::kStaticSource) + "dtype " + o.inputs.unsupported + " (" +
                        verdicts::mps_unsupported_dtype_reason(o.inputs.unsupported) + ")";
      o.judged.via.clear();
    } else if (o.judged.verdict == "composite") {
      o.state = State::kComposite;
    }
    if (o.state != State::kComposite) {
      add(o.judged, e, o.inputs, o.line, o.test);
      if (o.judged.verdict == verdict::kFallsBack)
        for (auto& s : stack_)
          if (s.state == State::kComposite) s.falling.insert(o.judged.op);
    }
    stack_.push_back(std::move(o));
  }

  // The Book's verdict of the op alone. The recorder's traces name each op with its overload;
  // another trace's names are schema names, judged as the default overload.
  Judged judge(const std::string& name, const std::string& types) {
    const std::string key = name + "|" + types;
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    Judged j;
    j.op = name;
    if (!t_.meta.overload_names)
      j.note = "overload not recorded (not a tools/preflight.sh trace): judged as the default overload";
    std::string why;
    switch (book_.classify(j.op, &why)) {
      case verdicts::Static::kNative:
        j.verdict = verdict::kNative;
        break;
      case verdicts::Static::kFallsBack:
        j.verdict = verdict::kFallsBack;
        j.via = {j.op};
        break;
      case verdicts::Static::kComposite:
        j.verdict = "composite";
        break;
      case verdicts::Static::kUnknown:
        j.verdict = verdict::kUnknown;
        break;
    }
    j.source = why;
    return cache_.emplace(key, j).first->second;
  }

  void add(const Judged& j, const Event& e, const Inputs& in, uint32_t line, uint32_t test) {
    const std::string key = j.op + "\n" + j.verdict;
    auto it = rows_.find(key);
    if (it == rows_.end()) {
      it = rows_.emplace(key, a_.ops.size()).first;
      TraceOp op;
      op.op = j.op;
      op.verdict = j.verdict;
      op.source = j.source;
      op.note = j.note;
      a_.ops.push_back(std::move(op));
    }
    TraceOp& r = a_.ops[it->second];
    if (!j.note.empty()) ++a_.unresolved_overloads;
    for (const auto& v : j.via)
      if (std::find(r.via.begin(), r.via.end(), v) == r.via.end()) r.via.push_back(v);
    ++r.calls;
    r.cpu_us += e.dur;
    r.bytes_in += in.bytes;
    r.tensors_in += in.tensors;
    // The trace records no outputs: one tensor back, the size of the first input (an in-place or
    // out= op writes into one of its inputs; a functional op is taken to return one like it).
    const uint64_t out_tensors = in.tensors ? 1 : 0;
    r.tensors_out += out_tensors;
    r.bytes_out += in.first_bytes;
    ++r.signatures[in.signature];
    if (line) ++r.lines[line_text(t_.str(line))];
    if (test) ++r.tests[t_.str(test)];
    for (const auto& s : stack_)
      if (s.state == State::kComposite) r.inside.insert(s.judged.op);
    if (j.verdict == verdict::kFallsBack && j.via.size() == 1 && j.via.front() == j.op) {
      const double copies = static_cast<double>(in.tensors) * copy_.d2h_latency_us + in.bytes / copy_.d2h_bytes_per_us +
                            static_cast<double>(out_tensors) * copy_.h2d_latency_us +
                            in.first_bytes / copy_.h2d_bytes_per_us + copy_.sync_us;
      r.mac_copy_us += copies;
      r.mac_us += copies + e.dur;
      if (copies + e.dur > r.example_us) {
        r.example_us = copies + e.dur;
        r.example_types = t_.str(e.types);
        r.example_dims = t_.str(e.dims);
        r.example_concrete = t_.str(e.concrete);
      }
    }
  }

  TraceAnalysis finish() {
    auto rank = [](const TraceOp& o) {
      if (o.verdict == verdict::kFallsBack) return o.via.size() == 1 && o.via.front() == o.op ? 0 : 1;
      if (o.verdict == verdict::kUnsupportedDtype) return 2;
      if (o.verdict == verdict::kUnknown) return 3;
      return 4;
    };
    std::stable_sort(a_.ops.begin(), a_.ops.end(), [&](const TraceOp& x, const TraceOp& y) {
      if (rank(x) != rank(y)) return rank(x) < rank(y);
      if (x.mac_us != y.mac_us) return x.mac_us > y.mac_us;
      if (x.calls != y.calls) return x.calls > y.calls;
      return x.op < y.op;
    });
    return std::move(a_);
  }

  const Trace& t_;
  const verdicts::Book& book_;
  const copy_model::Figures& copy_;
  std::set<std::string> not_user_;
  std::vector<Open> stack_;
  std::unordered_map<std::string, Judged> cache_;
  std::map<std::string, size_t> rows_;
  TraceAnalysis a_;
};

// --- output ------------------------------------------------------------------------------

std::string code(const std::string& s) { return "`" + s + "`"; }
std::string ms(double us) { return format_short(us / 1000); }

bool falls_back_itself(const TraceOp& o) {
  return o.verdict == verdict::kFallsBack && o.via.size() == 1 && o.via.front() == o.op;
}

std::string top_entries(const std::map<std::string, uint64_t>& m, size_t n) {
  std::vector<std::pair<std::string, uint64_t>> v(m.begin(), m.end());
  std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::vector<std::string> parts;
  for (size_t i = 0; i < v.size() && i < n; ++i)
    parts.push_back(v[i].first + (v.size() > 1 ? " ×" + std::to_string(v[i].second) : ""));
  if (v.size() > n) parts.push_back("… " + std::to_string(v.size() - n) + " more");
  return join(parts, "; ");
}

std::string bytes_text(double b) {
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (b < 1024) return format_short(b) + " B";
  int u = 0;
  b /= 1024;
  while (b >= 1024 && u < 3) b /= 1024, ++u;
  return format_short(b) + " " + units[u];
}

Table ops_csv_table(const TraceAnalysis& a) {
  Table t({{"op"}, {label::kMpsVerdict}, {label::kMpsVia}, {label::kVerdictSource}, {"calls"}, {"cpu_us"},
           {"tensors_in"}, {"bytes_in"}, {"tensors_out_est"}, {"bytes_out_est"}, {"mac_copy_us"}, {"mac_us"},
           {"signatures"}, {"source_lines"}, {"called_from"}, {"tests"}, {"note"}});
  for (const auto& o : a.ops)
    t.add_row({o.op, o.verdict, join(o.via, ","), o.source, std::to_string(o.calls), format_number(o.cpu_us),
               std::to_string(o.tensors_in), format_number(o.bytes_in), std::to_string(o.tensors_out),
               format_number(o.bytes_out), format_number(o.mac_copy_us), format_number(o.mac_us),
               top_entries(o.signatures, 1000), top_entries(o.lines, 1000), join({o.inside.begin(), o.inside.end()}, ","),
               top_entries(o.tests, 1000), o.note});
  return t;
}

Table signatures_table(const std::vector<const TraceOp*>& ops) {
  Table t({{"op"}, {label::kMpsVerdict}, {"signature"}, {"calls"}});
  for (const TraceOp* o : ops)
    for (const auto& [sig, n] : o->signatures) t.add_row({o->op, o->verdict, sig, std::to_string(n)});
  return t;
}

struct Totals {
  uint64_t fallback_calls = 0, fallback_ops = 0, unsupported_calls = 0, unknown_calls = 0, native_calls = 0,
           native_ops = 0;
  double mac_us = 0, mac_copy_us = 0, cpu_us = 0;
};
Totals totals_of(const TraceAnalysis& a) {
  Totals s;
  for (const auto& o : a.ops) {
    if (falls_back_itself(o)) {
      s.fallback_calls += o.calls, ++s.fallback_ops;
      s.mac_us += o.mac_us, s.mac_copy_us += o.mac_copy_us, s.cpu_us += o.cpu_us;
    } else if (o.verdict == verdict::kUnsupportedDtype) {
      s.unsupported_calls += o.calls;
    } else if (o.verdict == verdict::kUnknown) {
      s.unknown_calls += o.calls;
    } else if (o.verdict == verdict::kNative) {
      s.native_calls += o.calls, ++s.native_ops;
    }
  }
  return s;
}

std::string headline(const Trace& t, const Totals& s, const verdicts::Book& book) {
  std::ostringstream h;
  if (!t.meta.complete) h << "PARTIAL (" << (t.meta.stopped.empty() ? "the program failed" : t.meta.stopped) << "): ";
  if (s.fallback_calls)
    h << "on an M-series Mac (model) this run would spend about " << ms(s.mac_us) << " ms in " << s.fallback_calls
      << " fallback call" << (s.fallback_calls == 1 ? "" : "s") << " of " << s.fallback_ops << " op"
      << (s.fallback_ops == 1 ? "" : "s") << ", " << ms(s.mac_copy_us) << " ms of it in copies";
  else
    h << "no call would fall back on MPS";
  h << " (torch " << book.torch_version() << "); " << s.unsupported_calls << " calls in a dtype MPS cannot hold, "
    << s.native_calls << " native calls of " << s.native_ops << " ops";
  return h.str();
}

// The targets entry of one op that would fall back: its costliest signature as a generic `args:` spec.
std::optional<std::string> target_entry(const TraceOp& o, std::string* why_not) {
  const auto types = split(o.example_types, "|");
  const auto dims = split(o.example_dims, "|");
  const auto concrete = split(o.example_concrete, "|");
  std::vector<std::string> args;
  std::string self_shape, self_dtype;
  for (size_t i = 0; i < types.size() && !o.example_types.empty(); ++i) {
    const std::string d = i < dims.size() ? dims[i] : "";
    const std::string c = i < concrete.size() ? concrete[i] : "";
    const std::string shape = "'" + (d.empty() ? std::string("") : d) + "'";
    if (const Dtype* dt = tensor_dtype(types[i])) {
      if (self_dtype.empty()) {
        self_shape = d.empty() ? "[]" : "'" + d + "'";
        self_dtype = dt->name;
        args.push_back("self");
      } else {
        // Integer tensors are mostly indices or pivots: ones stay in range where random values would not.
        const bool integral = std::string(dt->name)[0] == 'i' || std::string(dt->name)[0] == 'u';
        args.push_back("tensor: {shape: " + (d.empty() ? std::string("[]") : shape) + ", dtype: " + dt->name +
                       (integral ? ", init: ones" : "") + "}");
      }
    } else if (types[i].empty()) {
      args.push_back("none");
    } else if (types[i] == "Scalar" && !c.empty()) {
      if (c == "True" || c == "False")
        args.push_back(std::string("bool: ") + (c == "True" ? "true" : "false"));
      else if (c.find_first_of(".eE") != std::string::npos || c == "inf" || c == "nan")
        args.push_back("float: " + c);
      else
        args.push_back("int: " + c);
    } else if (types[i] == "ScalarList" && !c.empty()) {
      args.push_back("ints: " + c);
    } else {
      *why_not = "input " + std::to_string(i) + " is a " + types[i] + " (no generic args: form for it)";
      return std::nullopt;
    }
  }
  if (self_dtype.empty()) {
    *why_not = "no tensor input";
    return std::nullopt;
  }
  while (!args.empty() && args.back() == "none") args.pop_back();
  std::ostringstream y;
  y << "  - op: " << o.op << "\n"
    << "    shapes: [" << self_shape << "]\n"
    << "    dtypes: [" << self_dtype << "]\n"
    << "    args:\n";
  for (const auto& a : args) y << "      - " << a << "\n";
  std::string note = "preflight: " + std::to_string(o.calls) + " calls, the costliest signature; from " +
                     (o.top_line().empty() ? std::string("an unknown line") : o.top_line());
  if (o.signatures.size() > 1) note += " (" + std::to_string(o.signatures.size()) + " signatures seen)";
  std::string quoted;
  for (char ch : note) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
  y << "    note: '" << quoted << "'\n";
  return y.str();
}

}  // namespace

std::string TraceOp::top_line() const {
  const std::pair<const std::string, uint64_t>* best = nullptr;
  for (const auto& l : lines)
    if (!best || l.second > best->second) best = &l;
  return best ? best->first : "";
}

TraceAnalysis analyze(const Trace& t, const verdicts::Book& book, const copy_model::Figures& copy) {
  TraceAnalysis a = Analyzer(t, book, copy).run();
  if (!t.with_stack) a.notes.push_back("recorded without with_stack=True: no source lines");
  if (t.ops_without_types)
    a.notes.push_back(std::to_string(t.ops_without_types) +
                      " op events carry no \"Input type\" (recorded without record_shapes=True): dtypes and bytes of "
                      "those calls are unknown");
  if (a.unresolved_overloads)
    a.notes.push_back(std::to_string(a.unresolved_overloads) +
                      " judged calls without a recorded overload: judged by the op's default overload");
  if (t.processes > 1)
    a.notes.push_back("events of " + std::to_string(t.processes) + " processes in one trace");
  if (t.meta.worker_processes || t.meta.forks)
    a.notes.push_back("the program started " + std::to_string(t.meta.worker_processes) + " worker process(es) (" +
                      std::to_string(t.meta.forks) +
                      " fork(s)): their calls are NOT in this trace (the profiler records this process only); "
                      "DataLoader workers run the dataset's code, which on a Mac runs on the CPU as here");
  return a;
}

const std::string* AllowList::find(const std::string& op) const {
  auto it = reasons.find(op);
  if (it == reasons.end()) {
    const size_t ns = op.find("::");
    const size_t dot = op.find('.', ns == std::string::npos ? 0 : ns + 2);
    if (dot != std::string::npos) it = reasons.find(op.substr(0, dot));
  }
  return it == reasons.end() ? nullptr : &it->second;
}

AllowList read_allow_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the allow list (--allow=FILE)");
  AllowList a;
  a.path = path;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string text = line.substr(0, line.find('#'));
    const size_t b = text.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const size_t e = text.find_first_of(" \t\r", b);
    const std::string op = text.substr(b, e == std::string::npos ? std::string::npos : e - b);
    if (op.find("::") == std::string::npos || op.find("::") == 0)
      throw std::runtime_error(path + ":" + std::to_string(n) + ": expected an op such as aten::linalg_eig, got '" +
                               op + "' (form: OP [reason], '#' starts a comment)");
    std::string reason = e == std::string::npos ? "" : text.substr(e);
    const size_t rb = reason.find_first_not_of(" \t\r"), re = reason.find_last_not_of(" \t\r");
    reason = rb == std::string::npos ? "" : reason.substr(rb, re - rb + 1);
    a.reasons[op] = reason;
  }
  return a;
}

TraceReport add_trace_report(OutputSet& out, const Trace& t, const TraceReportOptions& o) {
  const verdicts::Book& book = *o.book;
  const TraceAnalysis a = analyze(t, book, o.copy);
  const Totals s = totals_of(a);
  TraceReport r;
  r.headline = headline(t, s, book);

  // The gate: one line per op whose verdict fails it, allowed ones said as such.
  for (const auto& op : a.ops) {
    const bool counts = o.fail_on.count(op.verdict) && (op.verdict != verdict::kFallsBack || falls_back_itself(op));
    if (!counts) continue;
    const std::string* allowed = o.allow ? o.allow->find(op.op) : nullptr;
    const std::string what = op.verdict == verdict::kFallsBack ? "would fall back on MPS"
                             : op.verdict == verdict::kUnsupportedDtype ? "uses a dtype MPS cannot hold"
                                                                        : "has an unknown MPS verdict";
    std::string line = op.op + " " + what + " (torch " + book.torch_version() + "): " + std::to_string(op.calls) +
                       " call" + (op.calls == 1 ? "" : "s") + " at " +
                       (op.lines.empty() ? std::string("an unknown line") : top_entries(op.lines, 3));
    if (allowed) line += " [allowed by " + o.allow->path + (allowed->empty() ? "" : ": " + *allowed) + "]";
    else r.gate_failed = true;
    r.gate_lines.push_back(line);
    if (o.github && !allowed) {
      // "kp.py:4 (f)" -> file=kp.py,line=4
      const std::string at = op.top_line().substr(0, op.top_line().find(" ("));
      std::string cmd = "::warning ";
      if (const size_t colon = at.rfind(':'); colon != std::string::npos && at.substr(colon + 1) != "0")
        cmd += "file=" + at.substr(0, colon) + ",line=" + at.substr(colon + 1) + ",";
      cmd += "title=MPS preflight::" + op.op + " " + what + " (torch " + book.torch_version() + "), " +
             std::to_string(op.calls) + " calls";
      r.annotations.push_back(cmd);
    }
  }

  // Files: per falling op its signatures, every op x signature, every op, the summary.
  std::vector<const TraceOp*> all;
  for (const auto& op : a.ops) {
    all.push_back(&op);
    if (falls_back_itself(op))
      out.add((std::filesystem::path(o.results_dir) / op_file_name(op.op)).string(), to_csv(signatures_table({&op})));
  }
  out.add(o.cases_csv, to_csv(signatures_table(all)));

  // The summary: a list of sections (section.h); the ranking of every op is also trace_ops.csv.
  std::vector<const TraceOp*> falling, via, unsupported, unknown;
  for (const auto& op : a.ops) {
    if (falls_back_itself(op)) falling.push_back(&op);
    else if (op.verdict == verdict::kFallsBack) via.push_back(&op);
    else if (op.verdict == verdict::kUnsupportedDtype) unsupported.push_back(&op);
    else if (op.verdict == verdict::kUnknown) unknown.push_back(&op);
  }
  auto lines_cell = [](const TraceOp* op, size_t n) { return op->lines.empty() ? "—" : top_entries(op->lines, n); };
  Report rep;
  rep.title = "MPS preflight: " + code(t.path);
  if (!t.meta.complete)
    rep.opening = "> **PARTIAL REPORT.** " + (t.meta.stopped.empty() ? std::string("The program failed") : t.meta.stopped) +
                  (t.meta.exit_status ? " (exit status " + std::to_string(*t.meta.exit_status) + ")" : std::string()) +
                  ": the trace holds only the calls made before it stopped.\n\n";
  std::string head = r.headline;
  head[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(head[0])));
  rep.opening += head + ".\n\n";

  Section ctx("Run context");
  ctx.table = Table({{"key"}, {"value"}});
  ctx.table->add_row({"trace", code(t.path) + " (" + bytes_text(static_cast<double>(t.bytes)) + ", " +
                                   std::to_string(t.trace_events) + " events; " + std::to_string(t.events.size()) +
                                   " kept)"});
  if (t.meta.present) {
    ctx.table->add_row({"command", code(join(t.meta.command, " "))});
    ctx.table->add_row({"exit status", t.meta.exit_status ? std::to_string(*t.meta.exit_status) : "—"});
    ctx.table->add_row({"recorded with torch", t.meta.torch});
    if (t.meta.recorded_s) ctx.table->add_row({"recorded span (s)", format_short(*t.meta.recorded_s)});
    if (t.meta.steps_recorded) ctx.table->add_row({"steps recorded", std::to_string(*t.meta.steps_recorded)});
    if (!t.meta.stopped.empty()) ctx.table->add_row({"recording stopped", t.meta.stopped});
  }
  ctx.table->add_row({"CPU times measured on", t.meta.cpu.empty() ? "— (not recorded)" : t.meta.cpu});
  ctx.table->add_row({"verdicts: torch", book.torch_version()});
  ctx.table->add_row({"verdicts: source", o.verdict_source});
  if (!book.origin().file.empty()) ctx.table->add_row({"verdicts: native_functions.yaml", code(book.origin().file)});
  ctx.table->add_row({"copy model", o.copy.name + " (" + o.copy.source + ")"});
  ctx.table->add_row({"calls judged / inside judged calls / scopes", std::to_string(a.judged_calls) + " / " +
                                                                         std::to_string(a.inner_calls) + " / " +
                                                                         std::to_string(a.scopes)});
  ctx.table->add_row({"threads", std::to_string(a.threads)});
  rep.sections.push_back(std::move(ctx));

  Section fb("Would fall back on MPS");
  fb.csv = std::filesystem::path(o.ops_csv).filename().string();
  fb.data = ops_csv_table(a);
  if (falling.empty()) {
    fb.prose = "None: by the verdicts of torch " + book.torch_version() +
               ", every judged call has an MPS kernel, or is listed below.\n\n";
  } else {
    fb.prose = "Ranked by the estimated cost on an M-series Mac: the **model** " + code(o.copy.name) +
               " prices each call's copies (each tensor in to the CPU, one tensor back: a fixed latency each plus its "
               "bytes over the bandwidth) and adds the call's CPU time **measured here** (" +
               (t.meta.cpu.empty() ? std::string("this machine's CPU") : t.meta.cpu) +
               "), which a Mac's CPU would not match exactly.\n\n";
    fb.table = Table({{"rank", Align::kRight}, {"op"}, {"calls", Align::kRight}, {"Mac est. (ms)", Align::kRight},
                      {"of it copies (ms)", Align::kRight}, {"CPU here (ms)", Align::kRight},
                      {"bytes in", Align::kRight}, {"bytes out (est.)", Align::kRight}, {"shapes and dtypes"},
                      {"source line"}, {"called from"}});
    size_t rank = 0;
    for (const TraceOp* op : falling)
      fb.table->add_row({std::to_string(++rank), code(op->op), std::to_string(op->calls), ms(op->mac_us),
                         ms(op->mac_copy_us), ms(op->cpu_us), bytes_text(op->bytes_in), bytes_text(op->bytes_out),
                         top_entries(op->signatures, 3), lines_cell(op, 2),
                         op->inside.empty() ? "—" : join({op->inside.begin(), op->inside.end()}, ", ")});
    fb.after = "In all: about **" + ms(s.mac_us) + " ms** on an M-series Mac in " + std::to_string(s.fallback_calls) +
               " fallback calls, " + ms(s.mac_copy_us) + " ms of it in copies and " + ms(s.cpu_us) +
               " ms of CPU time (measured here).\n\n";
  }
  rep.sections.push_back(std::move(fb));

  if (!via.empty()) {
    Section vs("Composites that fall back through them");
    vs.prose = "Priced at their leaves, above.\n\n";
    vs.table = Table({{"op"}, {"calls", Align::kRight}, {"falls back via"}, {"source line"}});
    for (const TraceOp* op : via)
      vs.table->add_row({code(op->op), std::to_string(op->calls), join(op->via, ", "), lines_cell(op, 2)});
    rep.sections.push_back(std::move(vs));
  }

  Section us("Unsupported dtype on MPS");
  if (unsupported.empty()) {
    us.prose = "None.\n\n";
  } else {
    us.prose = "Calls with a float64 or complex128 tensor: MPS cannot hold these, so on a Mac they raise (an error, not "
               "a fallback) unless the program keeps them on the CPU.\n\n";
    us.table = Table({{"op"}, {"calls", Align::kRight}, {"shapes and dtypes"}, {"source line"}});
    for (const TraceOp* op : unsupported)
      us.table->add_row({code(op->op), std::to_string(op->calls), top_entries(op->signatures, 3), lines_cell(op, 2)});
  }
  rep.sections.push_back(std::move(us));

  if (!unknown.empty()) {
    Section ks("Unknown verdict");
    ks.table = Table({{"op"}, {"calls", Align::kRight}, {"why"}, {"source line"}});
    for (const TraceOp* op : unknown)
      ks.table->add_row({code(op->op), std::to_string(op->calls),
                         op->source + (op->note.empty() ? "" : "; " + op->note), lines_cell(op, 1)});
    rep.sections.push_back(std::move(ks));
  }

  Section ns("Native on MPS");
  ns.prose = std::to_string(s.native_calls) + " calls of " + std::to_string(s.native_ops) +
             " ops have an MPS kernel in torch " + book.torch_version() + " (every one in " + code(std::filesystem::path(o.ops_csv).filename().string()) +
             ").\n\n";
  rep.sections.push_back(std::move(ns));

  std::map<std::string, std::vector<std::string>> by_test;
  for (const auto* op : falling)
    for (const auto& [test, n] : op->tests) by_test[test].push_back(code(op->op) + " ×" + std::to_string(n));
  if (!by_test.empty()) {
    Section ts("Tests that reach a fallback");
    ts.table = Table({{"test"}, {"would fall back"}});
    for (const auto& [test, ops] : by_test) ts.table->add_row({code(test.substr(8)), join(ops, ", ")});
    rep.sections.push_back(std::move(ts));
  }

  if (!a.notes.empty()) {
    Section notes("Notes on this trace");
    for (const auto& n : a.notes) notes.prose += "- " + n + "\n";
    notes.prose += "\n";
    rep.sections.push_back(std::move(notes));
  }

  Section how("How to read this");
  how.prose =
      "- Every aten call of the trace is judged as MPS would dispatch it, by the chosen torch's verdicts: a call "
      "outside any op first; a composite by the calls it made here, leaf by leaf; what a native or falling-back op "
      "calls inside itself is its kernel's business and is not judged (docs/preflight.md).\n"
      "- **Mac est.** is a model, not a measurement: per call, each tensor in costs " +
      format_short(o.copy.d2h_latency_us) + " µs + bytes / " + format_short(o.copy.d2h_bytes_per_us / 1e3) +
      " GB/s to the CPU, one tensor back " + format_short(o.copy.h2d_latency_us) + " µs + bytes / " +
      format_short(o.copy.h2d_bytes_per_us / 1e3) +
      " GB/s (the trace records no outputs: the first input's size is taken), plus the CPU time measured here.\n"
      "- **source line**: the innermost Python function outside torch and the standard library that was running "
      "when the call was made, as the profiler names it: its file (relative to its sys.path entry), the line its "
      "`def` starts at (the profiler records no call lines), and its name.\n";
  rep.sections.push_back(std::move(how));
  add_report(out, rep, o.summary, std::filesystem::path(o.ops_csv).parent_path().string());

  if (!o.emit_targets.empty()) {
    std::ostringstream entries;
    size_t n = 0;
    for (const TraceOp* op : falling) {
      std::string why;
      if (const auto e = target_entry(*op, &why)) {
        entries << *e;
        ++n;
      } else {
        entries << "  # " << op->op << " left out: " << why << "\n";
      }
    }
    out.add(o.emit_targets, "# Written by mpsfb_report --torch-trace=" + t.path +
                                " --emit-targets: the cases that would fall back on MPS (torch " + book.torch_version() +
                                "), for mps_benchmarks --targets=FILE.\nversion: 1\nops:" + (n ? "\n" : " []\n") +
                                entries.str());
  }
  return r;
}

}  // namespace mpsfb::report
