// mpsfb_report --torch-trace: a program's aten calls (torch_trace.h) judged with the MPS verdict
// of a chosen torch (verdicts::Book), priced with a copy model, written as the report's files,
// a CI gate and a targets file. docs/preflight.md.
//
// Judging follows each thread's call tree, as the events nest (ts/dur on one thread):
//   - a call outside any op (or inside a record_function scope, an autograd node, a test) is judged;
//   - native / falls back / unknown: judged, and what it calls is its kernel's business (on MPS
//     the MPS kernel or the CPU fallback runs, not the CPU kernel's callees): not judged;
//   - composite (CompositeImplicit/Explicit, or no dispatch): its callees are judged, leaf by
//     leaf; the composite falls back via the leaves that do, in that call;
//   - a call with a float64 / complex128 tensor: "unsupported dtype" (an error on MPS, not a
//     fallback), its callees not judged.
#pragma once

#include "output.h"
#include "torch_trace.h"

#include "contract/copy_model.h"
#include "contract/verdict.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mpsfb::report {

// One op (with overload) and one verdict: every call of it that was judged so.
struct TraceOp {
  std::string op;       // "aten::_linalg_eigvals", "aten::add.Tensor"
  std::string verdict;  // contract token: falls back, native, unsupported dtype, unknown
  std::vector<std::string> via;  // composites that fall back: the leaves
  std::string source;            // the verdict's source (the Book's why)
  std::string note;              // e.g. "overload not recorded" or "several overloads: a, b"
  uint64_t calls = 0;
  double cpu_us = 0;                 // sum of the calls' durations here (a composite's include its leaves)
  double bytes_in = 0, bytes_out = 0;  // tensors in; out estimated (the trace records no outputs)
  uint64_t tensors_in = 0, tensors_out = 0;
  double mac_copy_us = 0, mac_us = 0;          // falls back only: modelled copies; copies + CPU time
  std::map<std::string, uint64_t> signatures;  // "f32[4x10x10], Scalar" -> calls
  std::map<std::string, uint64_t> lines;       // "kp.py:4" -> calls (the first frame outside torch)
  std::map<std::string, uint64_t> tests;       // "pytest: test_x.py::test_a" -> calls
  std::set<std::string> inside;                // composites it was called from
  // The costliest signature's inputs, for --emit-targets: types, dims, concrete values.
  std::string example_types, example_dims, example_concrete;
  double example_us = -1;

  std::string top_line() const;  // the line with the most calls, "" when none
};

struct TraceAnalysis {
  std::vector<TraceOp> ops;  // falls back (by Mac cost), unsupported dtype, unknown, native (by calls)
  uint64_t judged_calls = 0, inner_calls = 0, scopes = 0, threads = 0;
  uint64_t unresolved_overloads = 0;  // calls whose overload the trace did not say
  std::vector<std::string> notes;
};

// The judging, apart from any output (tests call it directly).
TraceAnalysis analyze(const torch_trace::Trace& t, const verdicts::Book& book, const copy_model::Figures& copy);

// --allow=FILE: one op per line ("aten::linalg_eig  reason..."), '#' starts a comment; an op
// without overload allows all of its overloads. Throws "FILE:LINE: ..." on a bad line.
struct AllowList {
  std::string path;
  std::map<std::string, std::string> reasons;  // op -> reason ("" when none given)
  const std::string* find(const std::string& op) const;
};
AllowList read_allow_list(const std::string& path);

struct TraceReportOptions {
  const verdicts::Book* book = nullptr;
  std::string verdict_source;  // how the Book was chosen ("the linked torch's yaml", a path, ...)
  copy_model::Figures copy;
  std::string results_dir = "results";
  std::string summary = "report/summary.md";
  std::string cases_csv = "report/cases.csv";
  std::string ops_csv = "report/trace_ops.csv";
  std::string emit_targets;                       // --emit-targets=FILE: "" for none
  std::set<std::string> fail_on = {"falls back"};  // verdict tokens that fail the gate
  const AllowList* allow = nullptr;
  bool github = false;  // GITHUB_ACTIONS=true: ::warning annotations
};

struct TraceReport {
  std::string headline;                // one line for stderr
  std::vector<std::string> gate_lines;  // one per op that fails the gate (or is allowed), for stderr
  std::vector<std::string> annotations; // GitHub workflow commands, for stdout
  bool gate_failed = false;
};

// Adds every output to `out` (nothing is written here).
TraceReport add_trace_report(OutputSet& out, const torch_trace::Trace& t, const TraceReportOptions& o);

}  // namespace mpsfb::report
