// Fallback% of a workload (mps_benchmarks --workload=...): see docs/workload.md.
//
//   --workload=tiny                     a built-in vision block + sequence block at small shapes
//   --workload=path/model.pt --input=.. a TorchScript module (torch.jit.save) and its inputs
//
// One benchmark, `workload:<tiny|file name>/device:<dev>`, manual time = one unobserved pass;
// counters from observed passes (attribution.h).
#pragma once

#include "cli.h"
#include "op_fixture.h"
#include "targets.h"

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mpsfb {

// One --input tensor: "1x3x224x224:f32" ("scalar" is a 0-dim tensor; no ":dtype" means f32).
struct InputSpec {
  std::vector<int64_t> shape;
  at::ScalarType dtype = at::kFloat;
  std::string str() const;  // "1x3x224x224:f32"
};

// Parses --input: specs joined by ','. Throws std::invalid_argument naming the bad part and the
// expected form; a tensor over `memory_budget_bytes` is rejected as well.
std::vector<InputSpec> parse_inputs(const std::string& text, int64_t memory_budget_bytes = int64_t{4} << 30);

// A workload ready to run on its device: `pass` runs it once (results are dropped).
struct Workload {
  std::string name;  // "tiny", or the TorchScript file's name without its folder
  std::function<void()> pass;
};

// The built-in workload: conv2d, batch_norm, relu, roll, group_norm, gelu, max_pool2d,
// upsample_bicubic2d, affine_grid + grid_sampler, avg_pool2d (vision); ne, cumsum (int64),
// isin, embedding, index_copy (sequence). Weights and inputs are seeded, on `device`.
Workload make_tiny_workload(const c10::Device& device);

// The error itself from a TorchScript failure's message: its last "SomethingError: ..." line
// onwards, without the interpreter's traceback (the whole message if it has no such line).
std::string script_error(const std::string& message);

// Loads a TorchScript module onto `device` in eval mode, builds seeded inputs and runs
// forward once. Throws std::invalid_argument naming the file (missing, unreadable, not
// TorchScript) or the inputs (forward threw).
Workload load_torchscript_workload(const std::string& path, const std::vector<InputSpec>& inputs,
                                   const c10::Device& device);

// The ops to emulate for a workload: for every targets entry, its emulation set (its
// `emulate:` list, else the entry's op); the members of it that the workload runs (`seen`, at
// any depth) are emulated. Sorted, without duplicates.
std::vector<std::string> select_emulated_ops(const std::vector<OpTarget>& targets, const std::vector<std::string>& seen);

// Registers the workload benchmark and runs it with `run` (run_benchmarks: the output file
// whole at the end); returns the process exit code. Bad arguments throw (run_main reports
// them and exits 2) before any benchmark runs.
int run_workload(const CliOptions& options, const RunContext& ctx, const std::function<size_t()>& run);

}  // namespace mpsfb
