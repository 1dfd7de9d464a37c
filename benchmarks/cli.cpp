#include "cli.h"

#include <string>

namespace mpsfb {

const char* cli_usage() {
  return "mps_benchmarks: CPU vs device-with-fallback time per ATen op, shape and dtype.\n"
         "  --targets=PATH          ops to measure (default ops/targets.yaml, else ops/targets.seed.yaml)\n"
         "  --device=auto|mps|cuda|cpu   auto: mps, then cuda, then cpu\n"
         "  --fallback=auto|emulate auto: the device's own behaviour; emulate: route the ops that fall\n"
         "                          back on MPS in this torch through at::native::cpu_fallback, and\n"
         "                          also time the native kernel\n"
         "  --emulate=falls-back|all  with --fallback=emulate: only the ops whose MPS verdict is\n"
         "                          'falls back' (default), or every op (what native support saves)\n"
         "  --native-functions=PATH the native_functions.yaml the MPS verdicts come from (default: the\n"
         "                          copy in the torchgen package beside the linked torch)\n"
         "  --list-verdicts         print each target op's MPS verdict as JSON and exit\n"
         "  --memory_budget_mb=N    reject shapes whose input tensor exceeds N MiB (default 4096)\n"
         "  --workload=tiny|PATH.pt fallback% of a workload instead of the op suite\n"
         "  --input=1x3x224x224:f32[,...]  inputs of a TorchScript workload\n"
         "  plus every --benchmark_* flag of Google Benchmark (--benchmark_filter=op:aten::roll/...)\n";
}

int64_t CliOptions::memory_budget_bytes() const {
  if (memory_budget_mb <= 0) return 0;
  if (memory_budget_mb > kMaxMemoryBudgetMb) return INT64_MAX;
  return memory_budget_mb << 20;
}

CliOptions parse_cli(const std::vector<std::string>& args) {
  CliOptions o;
  for (const auto& arg : args) {
    const auto eq = arg.find('=');
    const std::string key = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    auto need_value = [&] {
      if (eq == std::string::npos || value.empty())
        throw std::invalid_argument(key + " needs a value (" + key + "=...)");
    };
    if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (key == "--targets") {
      need_value();
      o.targets = value;
    } else if (key == "--device") {
      need_value();
      if (value != "auto" && value != "mps" && value != "cuda" && value != "cpu")
        throw std::invalid_argument("--device=" + value + ": expected auto, mps, cuda or cpu");
      o.device = value;
    } else if (key == "--fallback") {
      need_value();
      if (value != "auto" && value != "emulate")
        throw std::invalid_argument("--fallback=" + value + ": expected auto or emulate");
      o.fallback = value;
    } else if (key == "--emulate") {
      need_value();
      if (value != "falls-back" && value != "all")
        throw std::invalid_argument("--emulate=" + value + ": expected falls-back or all");
      o.emulate = value;
    } else if (key == "--native-functions") {
      need_value();
      o.native_functions = value;
    } else if (arg == "--list-verdicts") {
      o.list_verdicts = true;
    } else if (key == "--memory_budget_mb") {
      need_value();
      size_t used = 0;
      try {
        o.memory_budget_mb = std::stoll(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != value.size() || o.memory_budget_mb <= 0 || o.memory_budget_mb > kMaxMemoryBudgetMb)
        throw std::invalid_argument("--memory_budget_mb=" + value + ": expected an integer from 1 to " +
                                    std::to_string(kMaxMemoryBudgetMb) + " (MiB)");
    } else if (key == "--workload") {
      need_value();
      o.workload = value;
    } else if (key == "--input") {
      need_value();
      o.input = value;
    } else {
      throw std::invalid_argument("unknown flag '" + arg + "' (see --help)");
    }
  }
  // Flags that mean nothing alone are errors, not silently ignored.
  if (!o.input.empty() && o.workload.empty())
    throw std::invalid_argument("--input=" + o.input + " needs --workload=PATH.pt (the inputs of a TorchScript "
                                "workload; the op suite takes its shapes from the targets file)");
  return o;
}

}  // namespace mpsfb
