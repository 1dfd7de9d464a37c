// Detecting a CPU fallback at run time, emulating one on a device that has the kernel, and
// classifying an op from its computed dispatch table: three APIs, defined by three sources
// (fallback_observe.cpp, fallback_emulate.cpp, fallback_classify.cpp; what the first two
// share is in fallback_internal.h). Each section below names its source.
//
// Note [Fallback probe and TORCH_WARN_ONCE]
// at::native::cpu_fallback moves every tensor argument to the CPU with at::_to_cpu, a
// dispatcher call that RecordFunction sees; the op whose scope holds that call is the op
// that fell back (for a composite op, the inner op). That works on every backend, emulated
// or real. On MPS the fallback also warns, but with TORCH_WARN_ONCE: once per process, for
// whichever op came first. The probe turns warn-always on and installs its own handler for
// the duration of one call, so each case sees its own warning.
#pragma once

#include "counters.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/DispatchKey.h>
#include <torch/library.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace mpsfb {

// ---- Observe (fallback_observe.cpp): which ops fall back, seen through RecordFunction and the
// MPS fallback warning; in timeline mode, how long each took.

// Timeline mode (ObserverOptions::timeline): one op that fell back, on the observing thread.
struct FallbackSpan {
  std::string op;       // the op that fell back: the innermost op whose scope holds aten::_to_cpu
  double us = 0;        // its host span (start to end callback), less drain_us
  double drain_us = 0;  // time the drain inside it waited for device work queued before it
};

// Timeline mode: what the observing thread ran since the observer started (or the last take).
struct Timeline {
  int64_t top_level_calls = 0;           // ops entered with no op open on the observing thread
  int64_t top_level_fallback_calls = 0;  // of those, the ones whose scope held a fallback
  std::vector<FallbackSpan> fallbacks;   // outermost fallback spans only (no nested double count), in start order
};

struct ObserverOptions {
  // Time the ops of the thread that creates the observer and keep the spans of those that fall
  // back (take_timeline()); docs/workload.md has the model.
  bool timeline = false;
  // Timeline mode: called on the observing thread as each aten::_to_cpu starts, before its copy
  // (which would wait for the device anyway); its time is taken off the fallback's span.
  std::function<void()> drain;
  // Keep the name of every op seen, at any depth, on any observed thread (seen_ops()).
  bool collect_ops = false;
  // Keep which op called which, on the observing thread (calls()): a composite's leaves.
  bool collect_calls = false;
};

namespace detail {
struct ObserverTimeline;
}

// Watches the calling thread (and the intra-op threads it starts) for fallbacks while alive.
// One at a time per process; in timeline mode, destroy it on the thread that made it.
class FallbackObserver {
 public:
  FallbackObserver();
  explicit FallbackObserver(ObserverOptions options);
  ~FallbackObserver();
  FallbackObserver(const FallbackObserver&) = delete;
  FallbackObserver& operator=(const FallbackObserver&) = delete;

  // Ops that ran through the CPU fallback, "aten::name.overload", sorted.
  std::vector<std::string> fallback_ops() const;
  // collect_ops: every op seen, sorted.
  std::vector<std::string> seen_ops() const;
  // collect_calls: the ops each op called directly.
  std::map<std::string, std::set<std::string>> calls() const;
  // timeline: what was recorded so far; starts a new, empty one.
  Timeline take_timeline();

  const ObserverOptions& options() const { return options_; }

  // Called by the RecordFunction callback and the warning handler.
  void record(const std::string& op);
  void record_seen(const std::string& op);
  void record_call(const std::string& caller, const std::string& callee);

 private:
  struct WarningCapture;
  ObserverOptions options_;
  mutable std::mutex mu_;
  std::set<std::string> ops_;
  std::set<std::string> seen_;
  std::map<std::string, std::set<std::string>> calls_;
  uint64_t handle_;
  std::unique_ptr<detail::ObserverTimeline> timeline_;
  std::unique_ptr<WarningCapture> warnings_;
};

// Extracts 'aten::x' from the MPS fallback warning; empty if the text is not one.
std::string op_from_fallback_warning(const std::string& message);

// ---- Emulate (fallback_emulate.cpp): ops routed through at::native::cpu_fallback on a device
// that has their kernels; those fallbacks timed and their copies counted.

// While alive, the listed ops run through at::native::cpu_fallback on `key` (CUDA or MPS),
// exactly as MPS runs an op it lacks. Leaving the scope restores the native kernels.
class EmulationScope {
 public:
  EmulationScope(const std::vector<std::string>& ops, c10::DispatchKey key);
  ~EmulationScope();
  EmulationScope(const EmulationScope&) = delete;
  EmulationScope& operator=(const EmulationScope&) = delete;

 private:
  std::vector<std::unique_ptr<torch::Library>> libs_;
};

// Times, on the thread that makes it, the fallbacks that EmulationScope kernels run while it
// is alive, without RecordFunction: the ops that do not fall back pay nothing. It sees only
// ops routed through EmulationScope (emulation on CUDA, or the ops a FallbackObserver found
// falling back on MPS, re-routed through the same cpu_fallback): docs/workload.md. One per thread.
class FallbackTimer {
 public:
  // `drain` as in ObserverOptions: run as each fallback starts, its wait not charged to it.
  explicit FallbackTimer(std::function<void()> drain = {});
  ~FallbackTimer();
  FallbackTimer(const FallbackTimer&) = delete;
  FallbackTimer& operator=(const FallbackTimer&) = delete;

  // The fallbacks so far (top_level_calls stays 0: ops are not counted; top_level_fallback_calls
  // counts the fallbacks); starts a new, empty one.
  Timeline take_timeline();

  // Called by the EmulationScope kernel: runs cpu_fallback for `op`, timed.
  void run(const c10::OperatorHandle& op, torch::jit::Stack* stack);

 private:
  std::function<void()> drain_;
  std::unique_ptr<detail::ObserverTimeline> timeline_;
};

// While alive, counts on this thread the tensors that the fallbacks EmulationScope routes move:
// at::native::cpu_fallback copies every defined tensor argument (also inside lists) to the
// CPU, then writes back each argument the schema marks as mutated and copies each output that
// does not alias one to the device. Empty tensors are not counted (nothing to copy). One per
// thread; the runner's probe uses it for the floor (docs/measurement-model.md).
class CountMoves {
 public:
  CountMoves();
  ~CountMoves();
  CountMoves(const CountMoves&) = delete;
  CountMoves& operator=(const CountMoves&) = delete;

  const counters::Moves& moves() const { return moves_; }
  counters::Moves& moves() { return moves_; }

 private:
  counters::Moves moves_;
};

// cpu_fallback writes out= and in-place results back with aten::_copy_from_and_resize, which
// only MPS implements; this registers a generic one for `key` for the life of the process,
// if the key has none.
void ensure_copy_from_and_resize(c10::DispatchKey key);

// ---- Classify (fallback_classify.cpp).

// What the computed dispatch table says an op does on a backend.
enum class DispatchEntry {
  kMissing,          // no entry: the op errors on this backend
  kBackendFallback,  // [backend fallback]: the backend's fallback (MPS: CPU fallback or NotImplementedError)
  kFallbackKernel,   // a kernel registered in MPSFallback.mm: always falls back, whatever the variable says
  kKernel,           // a native kernel
  kComposite,        // [math kernel] / [default backend kernel]: decomposes into other ops
};
const char* to_string(DispatchEntry e);

// Classifies one line of OperatorHandle::dumpComputedTable(), e.g.
//   "MPS: registered at .../MPSFallback.mm:78 [kernel]".
DispatchEntry classify_table_line(const std::string& line);
// The entry for `key` in the op's computed table (kMissing when the table has no line for it).
DispatchEntry classify(const c10::OperatorHandle& op, c10::DispatchKey key);
// True on a LibTorch built with MPS (only there is a static MPS classification meaningful).
bool has_mps_backend();

}  // namespace mpsfb
