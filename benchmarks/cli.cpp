#include "cli.h"

#include <cmath>
#include <initializer_list>
#include <string>

namespace mpsfb {

const char* cli_usage() {
  static const std::string kUsage = std::string(
         "mps_benchmarks: CPU vs device-with-fallback time per ATen op, shape and dtype.\n"
         "  --targets=PATH          ops to measure (default ops/targets.yaml, else ops/targets.seed.yaml)\n"
         "  --device=auto|mps|cuda|cpu   auto: mps, then cuda, then cpu\n"
         "  --fallback=auto|emulate auto: the device's own behaviour; emulate: route the ops that fall\n"
         "                          back on MPS in the verdicts' torch through cpu_fallback, and\n"
         "                          also time the native kernel\n"
         "  --emulate=falls-back|all  with --fallback=emulate: only the ops whose MPS verdict is\n"
         "                          'falls back' (default), or every op (what native support saves)\n"
         ) + verdicts::source_flags_usage() + (
         "  --list-verdicts         print each target op's MPS verdict as JSON and exit\n"
         "  --list-contract         print the result contract (counters, label keys, name segments) as JSON and exit\n"
         "  --memory_budget_mb=N    reject shapes whose input tensor exceeds N MiB (default 4096)\n"
         "  --workload=tiny|PATH.pt fallback% of a workload instead of the op suite\n"
         "  --input=1x3x224x224:f32[,...]  inputs of a TorchScript workload\n"
         "  --noise_target=0.02     a case takes samples until each side's median is this stable: the\n"
         "                          relative half-width of its 95% confidence interval (cpu_noise, ...)\n"
         "  --min_samples=10        ... and at least this many samples\n"
         "  --max_samples=10000     ... stopping here, stable or not\n"
         "  --max_time_s=0.5        ... or after this many seconds of sampling (wall time, every side,\n"
         "                          shared by the case's visits: on a device 3, --benchmark_repetitions)\n"
         "                          an explicit --benchmark_min_time=X comes first: X s of the timed side\n"
         "  --copy-model=FILE       floor_us from this copy model (YAML, e.g. ops/copy_model.apple-m-series.yaml)\n"
         "                          instead of the one measured at start\n"
         "  --host_allocator=steady|default  steady (default): glibc keeps freed memory for reuse, so CPU\n"
         "                          times do not depend on the process's history; default: as it comes\n"
         "  --cpu_sample=steady|after-device  on a device, steady (default): one untimed CPU call before\n"
         "                          each timed one, so cpu_us is the op's steady state in a loop;\n"
         "                          after-device: the timed CPU call directly follows the device sample\n"
         "  plus every --benchmark_* flag of Google Benchmark (--benchmark_filter=op:aten::roll/...)\n");
  return kUsage.c_str();
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
    // A flag with a fixed set of values: the value, or "--key=value: expected a, b or c".
    auto one_of = [&](std::initializer_list<const char*> allowed) {
      need_value();
      std::string expected;
      size_t i = 0;
      for (const char* a : allowed) {
        if (value == a) return value;
        if (i > 0) expected += i + 1 == allowed.size() ? " or " : ", ";
        expected += a;
        ++i;
      }
      throw std::invalid_argument(key + "=" + value + ": expected " + expected);
    };
    if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (key == "--targets") {
      need_value();
      o.targets = value;
    } else if (key == "--device") {
      o.device = one_of({"auto", "mps", "cuda", "cpu"});
    } else if (key == "--fallback") {
      o.fallback = one_of({"auto", "emulate"});
    } else if (key == "--emulate") {
      o.emulate = one_of({"falls-back", "all"});
    } else if (verdicts::take_source_flag(key, value, o.verdicts)) {
      // --verdict-torch, --native-functions, --torch-source (contract/verdict_source.h)
    } else if (arg == "--list-verdicts") {
      o.list_verdicts = true;
    } else if (arg == "--list-contract") {
      o.list_contract = true;
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
    } else if (key == "--noise_target" || key == "--max_time_s") {
      // Adaptive stopping and the copy model (docs/measurement-model.md).
      need_value();
      size_t used = 0;
      double x = 0;
      try {
        x = std::stod(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != value.size() || !(x > 0) || !std::isfinite(x))
        throw std::invalid_argument(key + "=" + value + ": expected a positive number");
      (key == "--noise_target" ? o.noise_target : o.max_time_s) = x;
    } else if (key == "--min_samples" || key == "--max_samples") {
      need_value();
      size_t used = 0;
      long long n = 0;
      try {
        n = std::stoll(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != value.size() || n < 1) throw std::invalid_argument(key + "=" + value + ": expected a positive integer");
      (key == "--min_samples" ? o.min_samples : o.max_samples) = n;
    } else if (key == "--copy-model") {
      need_value();
      o.copy_model = value;
    } else if (key == "--host_allocator") {
      o.host_allocator = one_of({"steady", "default"});
    } else if (key == "--cpu_sample") {
      o.cpu_sample = one_of({"steady", "after-device"});
    } else {
      throw std::invalid_argument("unknown flag '" + arg + "' (see --help)");
    }
  }
  if (o.max_samples < o.min_samples)
    throw std::invalid_argument("--max_samples=" + std::to_string(o.max_samples) + " is below --min_samples=" +
                                std::to_string(o.min_samples));
  // Flags that mean nothing alone are errors, not silently ignored.
  if (!o.input.empty() && o.workload.empty())
    throw std::invalid_argument("--input=" + o.input + " needs --workload=PATH.pt (the inputs of a TorchScript "
                                "workload; the op suite takes its shapes from the targets file)");
  return o;
}

}  // namespace mpsfb
