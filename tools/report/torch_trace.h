// Reading a torch.profiler Chrome trace (export_chrome_trace; tools/preflight.sh writes one) as a
// stream: nlohmann's SAX parser over 1 MiB chunks of the file, so a trace of a million events is
// never held as a JSON document. What is kept per event is a few numbers and interned strings.
//
//   const Trace t = torch_trace::read("preflight/trace.json");
//   for (const Event& e : t.events) t.str(e.name);   // "aten::linalg_eigvals", "t.py(6): <module>"
//
// Kept: complete ("ph": "X") events of category cpu_op (aten and other ops, record_function scopes),
// user_annotation (scopes: the pytest plugin's "pytest: <nodeid>") and python_function (the
// Python stack, with_stack=True). Everything else (GPU kernels, CUDA runtime calls, flows,
// metadata events) is counted and left out. Top-level key "mpsfb_preflight" (the recorder's
// additions: overloads, exit status; tools/preflight/mpsfb_preflight.py) is read into Meta.
// Errors (std::runtime_error) name the file and the byte offset or the event's index.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb::report::torch_trace {

enum class Kind : uint8_t { kOp, kScope, kPython };

struct Event {
  double ts = 0, dur = 0;  // µs, as in the trace
  uint64_t thread = 0;     // pid and tid, one number (a string tid is hashed)
  uint32_t name = 0;       // interned strings (Trace::str)
  uint32_t types = 0;      // "Input type" joined by '|': "float|Scalar|"
  uint32_t dims = 0;       // "Input Dims" per input joined by '|', each "4x10x10" ("" for a scalar, or none)
  uint32_t concrete = 0;   // "Concrete Inputs" joined by '|': the scalars' values ("1", "[0, 1]"), "" for tensors
  Kind kind = Kind::kOp;
};

// The recorder's key (absent: a trace not written by tools/preflight.sh).
struct Meta {
  bool present = false;
  int format = 0;
  std::string torch;  // the torch that recorded
  std::string cpu;    // the CPU the recorded times are of
  std::vector<std::string> command;
  bool complete = true;                 // false: the program failed, the recording is partial
  std::optional<int64_t> exit_status;   // the program's
  std::string stopped;                  // why recording stopped early ("stopped after 5 steps")
  std::optional<int64_t> steps_recorded;
  std::optional<double> recorded_s;     // wall time of the recorded span
  int64_t worker_processes = 0, forks = 0;
  bool overload_names = false;  // op names carry their overload ("aten::add.Tensor"; the default one has none)
  std::vector<std::string> not_user_modules;                  // top-level module names that are not the program's
};

struct Trace {
  std::string path;
  uint64_t bytes = 0;
  std::vector<std::string> strings;  // interned; strings[0] == ""
  std::vector<Event> events;         // in file order
  Meta meta;
  std::optional<int64_t> schema_version;
  bool with_stack = false, record_shapes = false;  // the trace's own flags
  uint64_t trace_events = 0;                       // every entry of traceEvents
  uint64_t left_out = 0;                           // entries not kept (other categories or phases)
  uint64_t ops_without_types = 0;                  // cpu_op events without "Input type"
  uint64_t processes = 0;                          // distinct pids among kept events

  const std::string& str(uint32_t id) const { return strings[id]; }
};

// Throws std::runtime_error: "<path>: cannot open", "<path>: byte N: malformed JSON (...)",
// "<path>: not a torch.profiler Chrome trace (...)", "<path>: traceEvents[i] (name): ...".
Trace read(const std::string& path);

}  // namespace mpsfb::report::torch_trace
