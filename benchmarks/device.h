// The device under test: choosing it, synchronizing it, and the copy cost model measured
// once at start (the floor a fallback's round trip cannot go below).
#pragma once

#include "counters.h"

#include <c10/core/Device.h>

#include <string>

namespace mpsfb {

// "auto" picks mps, then cuda, then cpu, passing over an MPS that is present but unusable
// (with a note on stderr). Throws std::runtime_error for an unknown or unavailable device, and
// for --device=mps when MPS is present but unusable, saying why (host.h choose_device).
c10::Device select_device(const std::string& requested);

// MPS as this process finds it, probed once with a tiny op (a device can be reported
// available and fail on first use, as on GitHub's macOS runners).
struct MpsStatus {
  bool present = false;  // torch::mps::is_available()
  std::string problem;   // present but unusable: why
  bool usable() const { return present && problem.empty(); }
};
const MpsStatus& mps_status();
bool mps_available();  // present and usable

// Blocks until all queued work on the device has finished; a no-op for CPU.
void synchronize(const c10::Device& device);

// The copy model of this machine (counters.h CopyModel), measured: host->device and
// device->host bandwidth of copies to and from pageable host memory (what the fallback uses),
// the best over sizes from max_bytes/64 to max_bytes of each size's median; the latency of a
// small (64 B) blocking copy each way, made as the fallback makes it (`.to(device)`,
// `.cpu()`, allocation included), median of 20 × reps; and the median empty synchronize.
counters::CopyModel measure_copy_model(const c10::Device& device, int64_t max_bytes = int64_t{64} << 20, int reps = 15);

// A copy model from a YAML file (--copy-model=FILE), e.g. published figures for another
// machine; format in docs/measurement-model.md and ops/copy_model.apple-m-series.yaml.
// Throws std::runtime_error "FILE:LINE:COLUMN: what (expected: ...)" for a missing file,
// malformed YAML, a missing, unknown or invalid key.
counters::CopyModel load_copy_model(const std::string& path);

// Host memory for a reproducible CPU side. glibc serves a block from its heap (reused, pages
// warm) or maps it afresh (the kernel faults in and zeroes every page, on every call), by a
// threshold that moves with what the process freed before (up to 32 MiB): the same op could
// take 10x longer in one run than in the next. "steady" makes glibc keep and reuse every freed
// block, whatever its size (no mmap, no trim), so an op's output lands in warm memory on every
// call; "default" leaves glibc as it is. Call before the run's tensors exist. Returns what was
// done, for the JSON context.
std::string set_host_allocator(const std::string& mode);  // "steady" | "default"

// Human-readable names for the JSON context.
std::string device_name(const c10::Device& device);
std::string os_version();
std::string torch_version();

}  // namespace mpsfb
