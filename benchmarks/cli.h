// mps_benchmarks' own flags; every --benchmark_* flag is Google Benchmark's.
#pragma once

#include "contract/verdict_source.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpsfb {

struct CliOptions {
  std::string targets;  // empty: ops/targets.yaml, else ops/targets.seed.yaml
  std::string device = "auto";
  std::string fallback = "auto";
  std::string emulate = "falls-back";  // falls-back | all (with --fallback=emulate)
  verdicts::SourceFlags verdicts;      // --verdict-torch | --native-functions | --torch-source; none: the linked torch
  bool list_verdicts = false;          // print each target op's MPS verdict as JSON and exit
  bool list_contract = false;          // print contract_json() and exit
  int64_t memory_budget_mb = 4096;  // 1 .. kMaxMemoryBudgetMb
  std::string workload;  // tiny | path/model.pt (empty: the op suite)
  std::string input;     // model inputs: 1x3x224x224:f32[,...]
  bool help = false;

  // How long each case measures, and against what copy model (docs/measurement-model.md).
  double noise_target = 0.02;   // stop once each side's median is this stable (relative CI half-width)
  int64_t min_samples = 10;     // ... and at least this many interleaved samples were taken
  int64_t max_samples = 10000;  // stop here, stable or not
  double max_time_s = 0.5;      // ... or after this much sampling time per case (all its visits)
  std::string copy_model;       // --copy-model=FILE (YAML); empty: measured at start
  std::string host_allocator = "steady";  // steady | default (device.h set_host_allocator)
  std::string cpu_sample = "steady";      // steady | after-device (sampling::CpuSample)

  // The budget in bytes: memory_budget_mb << 20, which parse_cli keeps from overflowing.
  int64_t memory_budget_bytes() const;
};

// The largest --memory_budget_mb whose bytes fit int64 (8 EiB).
inline constexpr int64_t kMaxMemoryBudgetMb = INT64_MAX >> 20;

// Parses what benchmark::Initialize left in argv (argv[0] excluded). Throws
// std::invalid_argument naming the flag for an unknown flag or a bad value.
CliOptions parse_cli(const std::vector<std::string>& args);
const char* cli_usage();

}  // namespace mpsfb
