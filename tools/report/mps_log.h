// Reading the MPS profiler's CPU-fallback output from any stderr log: what a real Python run on
// a Mac says about its own fallbacks (PYTORCH_MPS_LOG_PROFILE_INFO with bits 4 | 64 [| 128]).
//
// The format is PyTorch's (aten/src/ATen/mps/MPSProfiler.mm, MPSProfiler.h, MPSFallback.mm; the
// lines and their fields are described in docs/reports.md, "A profiler log"):
//
//   CPU Fallback::aten::linalg_eig:MPS:Float[64, 64]:MPS:Float[64, 64] (id=1, run=3, CopyOverhead=32.00 KiB, cpu=1.234 ms)
//
//   ------------------- CPU Fallback Profiling: Total 12 Runs, 34.56 ms, 1.50 MiB Copies -------------------
//    ID  | #Runs | Mean CPU(ms) | Total CPU(ms) | Copy Overhead | Operation Name
//   ------------------------------------------------------------------------------------------------------
//     1      3        1.234          3.702          96.00 KiB      aten::linalg_eig
//
//   There are no CPU Fallbacks logged for profiling
//
// Everything else in the log (warnings, progress bars, the program's own output) is ignored. A
// line that is the profiler's but cannot be read is an error naming the file and line.
//
//   const mps_log::Log log = mps_log::parse(text, "train.log");
//   const mps_log::Summary s = mps_log::summarize(log);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb::report::mps_log {

// A size as the profiler prints it: "512 bytes", "32.00 KiB" (c10::CachingAllocator::format_size)
// or "32.00 KB" (MPSAllocator.mm's own format_size of older torch); 1024-based either way.
struct Size {
  double bytes = 0;
  bool exact = true;  // printed in bytes; otherwise rounded to 2 decimals of its unit
  std::string unit;   // as printed: bytes, KiB, MiB, GiB, KB, MB, GB
};
// nullopt when `text` is not one of those forms.
std::optional<Size> parse_size(const std::string& text);

// One per-call line (bit 4). Printed when the call starts, or with bit 128/256 when it ends,
// then with its wall time around the whole cpu_fallback.
struct Call {
  int line = 0;
  std::string op;                    // "aten::linalg_eig": the schema name, without overload
  std::vector<std::string> tensors;  // "MPS:Float[64, 64]", ... ("undefined" for an undefined tensor)
  uint64_t id = 0, run = 0;          // per op name, per process
  Size copy;                         // CopyOverhead of this call (see docs/reports.md for what it counts)
  std::optional<double> cpu_ms;      // with bit 128 or 256
  std::string signature() const;     // the tensors joined by ":", "(no tensors)" when none
};

// One row of the exit table (bit 64).
struct TableRow {
  int line = 0;
  uint64_t id = 0, runs = 0;
  double mean_ms = 0, total_ms = 0;
  Size copy;  // total over the op's runs
  std::string op;
};

struct ExitTable {
  int line = 0;  // the title line
  uint64_t total_runs = 0;
  double total_ms = 0;
  Size total_copy;
  std::vector<TableRow> rows;
};

struct Log {
  std::string path;
  int lines = 0;
  std::vector<Call> calls;
  std::vector<ExitTable> tables;             // one per process that printed one
  std::vector<int> none_logged;              // "There are no CPU Fallbacks logged for profiling"
  std::vector<std::string> warned_ops;       // named by the fallback warning (TORCH_WARN_ONCE: the first op)
  std::vector<std::string> not_implemented;  // named by the NotImplementedError of a disabled fallback
  std::string size_units;                    // "KiB" or "KB" when a size used one, else ""
  bool profiler_output() const { return !calls.empty() || !tables.empty() || !none_logged.empty(); }
};

// Throws std::runtime_error "path:line: what (expected: form)" for a profiler line it cannot
// read, a table cut short or whose rows do not add up to its title.
Log parse(const std::string& text, const std::string& path);
// parse() of a file; throws naming the file when it cannot be read.
Log read(const std::string& path);

// Calls of one op with one tensor signature, from the per-call lines.
struct SignatureTotals {
  std::string signature;
  uint64_t calls = 0;
  std::optional<double> total_ms;  // when every call of it has a time
  Size copy;                       // summed
};

struct OpTotals {
  std::string op;
  uint64_t calls = 0;
  std::optional<double> total_ms;
  Size copy;
  std::string source;    // "exit table" or "per-call lines"
  uint64_t lines = 0;    // per-call lines of the op
  std::vector<SignatureTotals> signatures;  // first-appearance order
  std::optional<double> mean_ms() const;
};

enum class Outcome {
  kFallbacks,          // per-call lines or an exit table
  kNoneLogged,         // the profiler ran and printed "There are no CPU Fallbacks logged for profiling"
  kNoProfilerOutput,   // not one line of the profiler: MPS unused, or the variable not set
};

struct Summary {
  Outcome outcome = Outcome::kNoProfilerOutput;
  std::vector<OpTotals> ops;  // most fallback time first, then most calls, then by name
  uint64_t calls = 0;
  std::optional<double> total_ms;  // when every op has a time
  Size copy;
  bool per_call_times = false;  // every per-call line has cpu=
  std::vector<std::string> notes;  // what the reader should know about where the numbers come from
};

// Totals per op: from the exit tables (summed over processes) where the op is in one, else from
// its per-call lines. Notes say when the two disagree, or what is missing.
Summary summarize(const Log& log);

}  // namespace mpsfb::report::mps_log
