#include "workload.h"

#include "attribution.h"
#include "counters.h"
#include "device.h"
#include "dtypes.h"
#include "fallback.h"
#include "naming.h"
#include "regular_file.h"
#include "stats.h"
#include "run_context.h"
#include "torch_message.h"

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <torch/script.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>

namespace mpsfb {
namespace {

namespace fs = std::filesystem;

constexpr size_t kTopFallbackOps = 5;
constexpr size_t kMaxModelBytes = size_t{8} << 30;  // a TorchScript module is read whole
constexpr int kWarmupPasses = 3;
constexpr int kMappingPasses = 5;

at::Tensor make_input(const InputSpec& s) {
  if (s.dtype == at::kBool) return at::randint(0, 2, s.shape, at::kLong).to(at::kBool);
  if (at::isIntegralType(s.dtype, /*includeBool=*/false)) return at::randint(0, 10, s.shape, at::TensorOptions(s.dtype));
  return at::randn(s.shape, at::TensorOptions(s.dtype));
}

// The ops the workload runs, at any depth (one untimed pass).
std::vector<std::string> trace_ops(const Workload& w, const c10::Device& device) {
  ObserverOptions options;
  options.collect_ops = true;
  FallbackObserver observer(std::move(options));
  w.pass();
  synchronize(device);
  return observer.seen_ops();
}

// Everything the benchmark needs, kept while Google Benchmark calls it again (iteration
// search, repetitions).
struct Prepared {
  Workload workload;
  c10::Device device{c10::kCPU};
  std::optional<std::string> emulated;  // emulate mode: the label's emulated ops, comma list
  bool mapped = false;
  AttributionTotals map;  // the RecordFunction passes
  double rf_overhead_pct = 0;
  // MPS: the ops found falling back, routed through the same cpu_fallback by an EmulationScope
  // so that the timed passes' FallbackTimer sees them.
  std::optional<EmulationScope> reroute;
  bool warned = false;
};

// Once: warm up, then map the run with RecordFunction (which ops fall back, top-level calls).
void map_run(Prepared& p) {
  for (int i = 0; i < kWarmupPasses; ++i) time_pass(p.device, p.workload.pass);
  std::vector<double> overhead;
  for (int i = 0; i < kMappingPasses; ++i) {
    const double wall = time_pass(p.device, p.workload.pass);
    const auto observed = observe_pass(p.device, p.workload.pass, Observation::kRecordFunction);
    overhead.push_back(100.0 * (observed.pass_us / wall - 1.0));
    p.map.add(observed);
  }
  p.rf_overhead_pct = median(overhead);
  if (p.device.is_mps()) {
    std::vector<std::string> fell_back;
    for (const auto& [op, pct] : p.map.by_op()) fell_back.push_back(op);
    if (!fell_back.empty()) p.reroute.emplace(fell_back, c10::DispatchKey::MPS);
  }
  observe_pass(p.device, p.workload.pass, Observation::kFallbackKernels);
  p.mapped = true;
}

void run_benchmark(benchmark::State& state, Prepared& p) {
  std::vector<double> wall_us, observed_us, overhead_pct;
  AttributionTotals timed;
  try {
    if (!p.mapped) map_run(p);
    int64_t i = 0;
    for (auto _ : state) {
      // One unobserved and one observed pass per iteration, in alternating order, so drift
      // and cache effects hit both alike.
      double wall = 0;
      ObservedPass observed;
      if (i++ % 2 == 0) {
        wall = time_pass(p.device, p.workload.pass);
        observed = observe_pass(p.device, p.workload.pass, Observation::kFallbackKernels);
      } else {
        observed = observe_pass(p.device, p.workload.pass, Observation::kFallbackKernels);
        wall = time_pass(p.device, p.workload.pass);
      }
      wall_us.push_back(wall);
      observed_us.push_back(observed.pass_us);
      overhead_pct.push_back(100.0 * (observed.pass_us / wall - 1.0));
      timed.add(observed);
      state.SetIterationTime(wall * 1e-6);
    }
  } catch (const std::exception& e) {
    const std::string msg = one_line(torch_message(e));
    state.SkipWithError(msg.c_str());
    return;
  }
  if (wall_us.empty()) return;
  // The timed passes see only routed fallbacks; if they saw fewer than the map, a fallback
  // went another way, and the RecordFunction passes' numbers are the ones to trust.
  const bool timed_saw_all = std::abs(timed.fallbacks_per_pass() - p.map.fallbacks_per_pass()) < 0.5;
  if (!timed_saw_all && !p.warned) {
    std::cerr << "mps_benchmarks: the timed passes saw " << timed.fallbacks_per_pass()
              << " fallbacks per pass, the RecordFunction map " << p.map.fallbacks_per_pass()
              << "; reporting the map's fallback share (rf_overhead_pct applies)\n";
    p.warned = true;
  }
  const AttributionTotals& share = timed_saw_all ? timed : p.map;
  counters::set(state, counters::kWallUs, median(wall_us));
  counters::set(state, counters::kObservedUs, median(observed_us));
  // Paired: the two passes of one iteration ran back to back, so load that comes and goes
  // (other processes, clock changes) cancels out better than in a ratio of the two medians.
  counters::set(state, counters::kAttributionOverheadPct, median(overhead_pct));
  counters::set(state, counters::kFallbackPct, share.fallback_pct());
  counters::set(state, counters::kFallbackUs, share.fallback_us());
  counters::set(state, counters::kFallbackCallsPct, p.map.fallback_calls_pct());
  counters::set(state, counters::kTotalOps, p.map.total_ops());
  counters::set(state, counters::kRfFallbackPct, p.map.fallback_pct());
  counters::set(state, counters::kRfOverheadPct, p.rf_overhead_pct);
  label::Fields fields = {{label::kTopFallback, share.top_fallback(kTopFallbackOps)}};
  if (p.emulated) fields.emplace_back(label::kEmulated, *p.emulated);
  state.SetLabel(label::format(fields));
}

}  // namespace

std::string InputSpec::str() const { return shape_str(shape) + ":" + dtype_name(dtype); }

std::vector<InputSpec> parse_inputs(const std::string& text, int64_t memory_budget_bytes) {
  const std::string form = "SHAPE:DTYPE[,SHAPE:DTYPE...], e.g. --input=1x3x224x224:f32,1x16:i64";
  if (text.empty()) throw std::invalid_argument("--input is empty (expected " + form + ")");
  std::vector<InputSpec> out;
  std::stringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) {
    const auto where = "--input=" + text + ": ";
    if (part.empty()) throw std::invalid_argument(where + "an empty input between commas (expected " + form + ")");
    const auto colon = part.find(':');
    const std::string shape = part.substr(0, colon);
    InputSpec s;
    if (colon != std::string::npos) {
      const std::string dtype = part.substr(colon + 1);
      const auto t = parse_dtype(dtype);
      if (!t)
        throw std::invalid_argument(where + "unknown dtype '" + dtype + "' in '" + part + "' (expected one of: " +
                                    dtype_names() + ")");
      s.dtype = *t;
    }
    std::string why;  // the shared scanner: no regex, sizes checked against int64
    if (auto dims = parse_shape_text(shape, &why))
      s.shape = std::move(*dims);
    else
      throw std::invalid_argument(where + why + " in '" + part + "' (expected sizes joined by x, such as 1x3x224x224, "
                                  "or scalar)");
    const auto bytes = tensor_bytes(s.shape, s.dtype);
    if (!bytes || *bytes > memory_budget_bytes)
      throw std::invalid_argument(where + "'" + part + "' needs " +
                                  (bytes ? std::to_string(*bytes) + " bytes" : std::string("more than 8 EiB")) +
                                  ", over --memory_budget_mb=" + std::to_string(memory_budget_bytes >> 20));
    out.push_back(std::move(s));
  }
  if (!text.empty() && text.back() == ',')
    throw std::invalid_argument("--input=" + text + ": a trailing comma (expected " + form + ")");
  return out;
}

Workload make_tiny_workload(const c10::Device& device) {
  at::manual_seed(0);
  const double kPi = 3.14159265358979323846;
  // Weights and inputs, made on the CPU from one seed, then moved.
  struct Tensors {
    // vision: a 2x3x32x32 image batch through conv/norm/activation, pooling and resampling
    at::Tensor x, w1, b1, bn_w, bn_b, bn_mean, bn_var, w2, b2, gn_w, gn_b, theta;
    // sequence: 4 sequences of 64 token ids (the last 16 padding) into 32-wide embeddings
    at::Tensor ids, vocab, tok_emb, pos_emb, rows, row_src;
  };
  auto t = std::make_shared<Tensors>();
  t->x = at::randn({2, 3, 32, 32});
  t->w1 = at::randn({16, 3, 3, 3}) * 0.2;
  t->b1 = at::zeros({16});
  t->bn_w = at::ones({16});
  t->bn_b = at::zeros({16});
  t->bn_mean = at::zeros({16});
  t->bn_var = at::ones({16});
  t->w2 = at::randn({16, 16, 3, 3}) * 0.1;
  t->b2 = at::zeros({16});
  t->gn_w = at::ones({16});
  t->gn_b = at::zeros({16});
  const double a = kPi / 12;  // a small rotation and shift, as in augmentation / spatial transformers
  t->theta = at::tensor({std::cos(a), -std::sin(a), 0.1, std::sin(a), std::cos(a), -0.05}, at::dtype(at::kFloat))
                 .view({1, 2, 3})
                 .repeat({2, 1, 1});
  t->ids = at::randint(1, 1000, {4, 64});
  t->ids.narrow(1, 48, 16).zero_();
  t->vocab = at::randint(0, 1000, {128});
  t->tok_emb = at::randn({1000, 32});
  t->pos_emb = at::randn({64, 32});
  t->rows = at::arange(0, 256, 8);
  t->row_src = at::randn({32, 32});
  for (auto* p : {&t->x, &t->w1, &t->b1, &t->bn_w, &t->bn_b, &t->bn_mean, &t->bn_var, &t->w2, &t->b2, &t->gn_w,
                  &t->gn_b, &t->theta, &t->ids, &t->vocab, &t->tok_emb, &t->pos_emb, &t->rows, &t->row_src})
    *p = p->to(device);

  Workload w;
  w.name = "tiny";
  w.pass = [t] {
    c10::InferenceMode inference;
    // Vision block.
    auto h = at::conv2d(t->x, t->w1, t->b1, {1, 1}, {1, 1});
    h = at::batch_norm(h, t->bn_w, t->bn_b, t->bn_mean, t->bn_var, /*training=*/false, 0.1, 1e-5,
                       /*cudnn_enabled=*/true);
    h = at::relu(h);
    h = at::roll(h, {2, 2}, {2, 3});  // shifted windows (Swin)
    h = at::conv2d(h, t->w2, t->b2, {1, 1}, {1, 1});
    h = at::group_norm(h, 4, t->gn_w, t->gn_b);
    h = at::gelu(h);
    auto p = at::max_pool2d(h, {2, 2});
    p = at::upsample_bicubic2d(p, {32, 32}, /*align_corners=*/false);
    const auto grid = at::affine_grid_generator(t->theta, {2, 16, 32, 32}, /*align_corners=*/false);
    p = at::grid_sampler(p, grid, /*bilinear*/ 0, /*zeros*/ 0, /*align_corners=*/false);
    p = at::avg_pool2d(p, {2, 2});
    // Sequence block.
    const auto mask = at::ne(t->ids, 0);
    const auto pos = at::cumsum(mask, 1, at::kLong).sub(1).clamp_min(0);  // position ids from the mask
    const auto keep = at::isin(t->ids, t->vocab);                          // tokens in a vocabulary subset
    auto e = at::embedding(t->tok_emb, t->ids) + at::embedding(t->pos_emb, pos);
    e = e * keep.unsqueeze(-1);
    e = at::index_copy(e.reshape({-1, 32}), 0, t->rows, t->row_src);
  };
  return w;
}

// Scanned by hand: the message quotes the model's own text, and std::regex recursed once per
// character of a long line (SIGSEGV at 64K characters; Note [No regex on user text] in targets.cpp).
std::string script_error(const std::string& msg) {
  auto name_char = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
  auto ends_with = [](const std::string& s, size_t end, const std::string& tail) {
    return end >= tail.size() && s.compare(end - tail.size(), tail.size(), tail) == 0;
  };
  size_t at = std::string::npos;
  for (size_t line = 0; line < msg.size();) {
    size_t i = line;
    while (i < msg.size() && name_char(msg[i])) ++i;
    if (msg.compare(i, 2, ": ") == 0 && (ends_with(msg, i, "Error") || ends_with(msg, i, "Exception"))) at = line;
    const size_t nl = msg.find('\n', i);
    if (nl == std::string::npos) break;
    line = nl + 1;
  }
  return at == std::string::npos ? msg : msg.substr(at);
}

Workload load_torchscript_workload(const std::string& path, const std::vector<InputSpec>& inputs,
                                   const c10::Device& device) {
  const std::string where = "--workload=" + path + ": ";
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw std::invalid_argument(where + "no such file (expected tiny, or the path of a TorchScript module saved "
                                        "with torch.jit.save)");
  // Read as every input file is (regular_file.h): a FIFO would block torch::jit::load for ever.
  std::string bytes;
  try {
    bytes = read_regular_file(path, "the TorchScript workload", kMaxModelBytes);
  } catch (const FileError& e) {
    throw std::invalid_argument(std::string("--workload=") + e.what());
  }

  auto module = std::make_shared<torch::jit::Module>();
  try {
    std::istringstream in(std::move(bytes));
    *module = torch::jit::load(in, device);
  } catch (const std::exception& e) {
    throw std::invalid_argument(where + "not a TorchScript module that torch::jit::load can read (save one with "
                                        "torch.jit.save(torch.jit.script(model), path)): " +
                                one_line(torch_message(e)));
  }
  module->eval();

  std::vector<std::string> described;
  for (const auto& s : inputs) described.push_back(s.str());
  at::manual_seed(0);
  auto args = std::make_shared<std::vector<c10::IValue>>();
  for (const auto& s : inputs) args->emplace_back(make_input(s).to(device));
  try {
    c10::InferenceMode inference;
    module->forward(*args);
    synchronize(device);
  } catch (const std::exception& e) {
    throw std::invalid_argument(where + "forward(" + join(described, ", ") + ") failed: " +
                                one_line(script_error(torch_message(e))) + " (do --input=" + join(described, ",") +
                                " fit the module's forward?)");
  }

  Workload w;
  w.name = fs::path(path).filename().string();
  w.pass = [module, args] {
    c10::InferenceMode inference;
    module->forward(*args);
  };
  return w;
}

std::vector<std::string> select_emulated_ops(const std::vector<OpTarget>& targets,
                                             const std::vector<std::string>& seen) {
  const std::set<std::string> ran(seen.begin(), seen.end());
  std::set<std::string> out;
  for (const auto& t : targets) {
    const auto& set = t.emulate.empty() ? std::vector<std::string>{t.op} : t.emulate;
    for (const auto& op : set)
      if (ran.count(op)) out.insert(op);
  }
  return {out.begin(), out.end()};
}

int run_workload(const CliOptions& o, const RunContext& ctx, const std::function<size_t()>& run) {
  const int64_t budget = o.memory_budget_bytes();
  auto p = std::make_shared<Prepared>();
  p->device = ctx.device;
  if (o.workload == "tiny") {
    if (!o.input.empty())
      throw std::invalid_argument("--input=" + o.input + ": --workload=tiny makes its own inputs; --input is for a "
                                  "TorchScript workload (--workload=model.pt)");
    p->workload = make_tiny_workload(ctx.device);
  } else {
    std::error_code ec;
    if (!fs::exists(o.workload, ec))
      throw std::invalid_argument("--workload=" + o.workload +
                                  ": no such file (expected tiny, or the path of a TorchScript module saved with "
                                  "torch.jit.save)");
    if (o.input.empty())
      throw std::invalid_argument("--workload=" + o.workload +
                                  ": a TorchScript workload needs its inputs: --input=SHAPE:DTYPE[,...], e.g. "
                                  "--input=1x3x224x224:f32");
    p->workload = load_torchscript_workload(o.workload, parse_inputs(o.input, budget), ctx.device);
  }

  const bool emulate = !ctx.device.is_cpu() && ctx.fallback == FallbackMode::kEmulate;
  std::optional<EmulationScope> emulation;
  std::vector<std::string> emulated;
  Targets targets;
  if (emulate) {
    std::string note;
    LoadOptions load;
    load.memory_budget_bytes = budget;
    targets = load_targets(resolve_targets_path(o.targets, &note), load);
    if (!note.empty()) std::cerr << "mps_benchmarks: " << note << "\n";
    const auto key = ctx.key();
    for (const auto& op : select_emulated_ops(targets.ops, trace_ops(p->workload, ctx.device))) {
      const auto [name, overload] = split_overload(op);
      const auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
      if (!handle) continue;
      if (classify(*handle, key) == DispatchEntry::kComposite) {
        std::cerr << "mps_benchmarks: not emulating " << op << ": a composite on " << c10::toString(key)
                  << " (it decomposes into other ops; name the inner op under 'emulate:' in " << targets.path
                  << ")\n";
        continue;
      }
      emulated.push_back(op);
    }
    emulation.emplace(emulated, key);
    // Which emulated ops a pass reaches, untimed: an op seen only inside another op's native
    // implementation is not reached once that op is emulated too.
    FallbackObserver probe;
    p->workload.pass();
    synchronize(ctx.device);
    const auto fell_back = probe.fallback_ops();
    std::vector<std::string> reached, unreached;
    for (const auto& op : emulated)
      (std::find(fell_back.begin(), fell_back.end(), op) != fell_back.end() ? reached : unreached).push_back(op);
    emulated = reached;
    p->emulated = join(emulated, ",");
    std::cerr << "mps_benchmarks: emulating the CPU fallback for the ops of " << targets.path
              << " that the workload runs: " << (emulated.empty() ? "(none)" : join(emulated, ", ")) << "\n";
    if (!unreached.empty())
      std::cerr << "mps_benchmarks: also routed but not reached in a pass (left out of " << label::kEmulated << "=): "
                << join(unreached, ", ") << "\n";
  }

  add_run_context(ctx);
  benchmark::AddCustomContext(context::kWorkload, o.workload);
  if (!o.input.empty()) benchmark::AddCustomContext(context::kWorkloadInput, o.input);
  if (emulate) {
    benchmark::AddCustomContext(context::kTargets, targets.path);
    benchmark::AddCustomContext(context::kTargetsSha1, targets.sha1);
    benchmark::AddCustomContext(context::kEmulatedOps, join(emulated, ","));
  }

  const std::string row = name::join({{name::kWorkload, p->workload.name}, {name::kDevice, device_segment(ctx.device)}});
  benchmark::RegisterBenchmark(row.c_str(), [p](benchmark::State& s) { run_benchmark(s, *p); })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  std::cerr << "mps_benchmarks: workload " << row << "\n";
  // Before static destruction, also when writing the output fails: the lambda in Google
  // Benchmark's registry keeps `p`.
  auto release = [&] {
    benchmark::Shutdown();
    p->reroute.reset();
    p->workload = {};
  };
  try {
    run();
  } catch (...) {
    release();
    throw;
  }
  release();
  return 0;
}

}  // namespace mpsfb
