// Detecting a CPU fallback at run time, emulating one on a device that has the kernel, and
// classifying an op from its computed dispatch table.
//
// Note [Fallback probe and TORCH_WARN_ONCE]
// at::native::cpu_fallback moves every tensor argument to the CPU with at::_to_cpu, a
// dispatcher call that RecordFunction sees; the op whose scope holds that call is the op
// that fell back (for a composite op, the inner op). That works on every backend, emulated
// or real. On MPS the fallback also warns, but with TORCH_WARN_ONCE: once per process, for
// whichever op came first. The probe turns warn-always on and installs its own handler for
// the duration of one call, so each case sees its own warning.
#pragma once

#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/DispatchKey.h>
#include <torch/library.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace mpsfb {

// Watches the calling thread (and the intra-op threads it starts) for fallbacks while alive.
// One at a time per process.
class FallbackObserver {
 public:
  FallbackObserver();
  ~FallbackObserver();
  FallbackObserver(const FallbackObserver&) = delete;
  FallbackObserver& operator=(const FallbackObserver&) = delete;

  // Ops that ran through the CPU fallback, "aten::name.overload", sorted.
  std::vector<std::string> fallback_ops() const;

  // Called by the RecordFunction callback and the warning handler.
  void record(const std::string& op);

 private:
  struct WarningCapture;
  mutable std::mutex mu_;
  std::set<std::string> ops_;
  uint64_t handle_;
  std::unique_ptr<WarningCapture> warnings_;
};

// Extracts 'aten::x' from the MPS fallback warning; empty if the text is not one.
std::string op_from_fallback_warning(const std::string& message);

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

// cpu_fallback writes out= and in-place results back with aten::_copy_from_and_resize, which
// only MPS implements; this registers a generic one for `key` for the life of the process,
// if the key has none.
void ensure_copy_from_and_resize(c10::DispatchKey key);

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
