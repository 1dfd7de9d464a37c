// run_case: the measurement model of docs/measurement-model.md, in code.
#include "counters.h"
#include "device.h"
#include "dtypes.h"
#include "fallback.h"
#include "host.h"
#include "mps_verdict.h"
#include "op_fixture.h"
#include "sampling.h"
#include "stats.h"
#include "torch_message.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <memory>
#include <set>
#include <sstream>

namespace mpsfb {
namespace {



double nbytes(const std::vector<at::Tensor>& ts) {
  double n = 0;
  for (const auto& t : ts)
    if (t.defined()) n += static_cast<double>(t.nbytes());
  return n;
}

double stack_nbytes(const Stack& s) {
  double n = 0;
  for (const auto& v : s) n += nbytes(output_tensors(v));
  for (const auto& v : s)
    if (v.isOptionalTensorList())
      for (const auto& t : v.toOptionalTensorList()) {
        std::optional<at::Tensor> ot = t;
        if (ot && ot->defined()) n += static_cast<double>(ot->nbytes());
      }
  return n;
}

// What a case's probe found, without its tensors: kept in the case's state for its later visits
// (repetitions, interleaved with other cases), which make their inputs again with the same seed
// and do not probe again.
struct Findings {
  std::vector<std::string> emulate;  // ops routed through the fallback; empty: the case runs natively
  std::vector<std::string> fallback_ops;
  double bytes_in = 0, bytes_out = 0;
  std::optional<counters::Moves> moves;  // what one call's fallback moves; absent: nothing falls back
  std::string label;
  std::string error;  // non-empty: every visit of this case skips with it
};

// One visit's inputs, on the CPU and on the device, or why they could not be made (that visit
// skips; the next one tries again).
struct Inputs {
  Stack cpu, dev;
  std::string error;
};

// A case's CPU inputs, the same on every call (its probe, each visit, its verdict): the seed
// first, then the trait's make().
Stack make_inputs(const Case& c, const OpCalls& calls) {
  at::manual_seed(0);
  return calls.make(c);
}

// One untimed call on copies of `args` (in-place ops leave the timed inputs as made), with the
// device synchronized, watched for fallbacks, with `emulate` routed through the fallback.
struct Probe {
  c10::IValue out;
  std::vector<std::string> fallback_ops;
  verdicts::CallGraph calls;  // collect_calls only
};
Probe probe(const Case& c, const OpCalls& calls, const Stack& args, const c10::Device& dev,
            const std::vector<std::string>& emulate = {}, bool collect_calls = false) {
  std::optional<EmulationScope> scope;
  if (!emulate.empty()) scope.emplace(emulate, c.ctx->key());
  ObserverOptions options;
  options.collect_calls = collect_calls;
  FallbackObserver observer(options);
  auto stack = copy_stack(args, dev);
  Probe p;
  p.out = calls.call(c, stack);
  synchronize(dev);
  p.fallback_ops = observer.fallback_ops();
  if (collect_calls) p.calls = observer.calls();
  return p;
}

// Which ops to route through the fallback for this case: by default those its verdict says fall
// back (the leaves without a kernel, for a composite); with --emulate=all a native op too, whole.
// Without a verdict, the op itself, as long as the device does not decompose it.
std::vector<std::string> emulated_ops_unchecked(const Case& c, const verdicts::Verdict& v) {
  const bool all = c.ctx->emulate_all;
  if (!c.target->emulate.empty() && (all || v.verdict != verdict::kNative)) return c.target->emulate;
  if (v.verdict == verdict::kFallsBack) return v.via;
  // What if the op itself fell back: a composite too is routed whole (a kernel registered for it
  // wins over its decomposition), never its leaves, which include the copies the fallback makes.
  if (v.verdict == verdict::kNative && all) return {c.target->op};
  if (v.verdict != verdict::kUnknown) return {};  // native (not all), unsupported dtype: runs natively
  if (classify(c.op, c.ctx->key()) == DispatchEntry::kComposite)
    throw std::runtime_error("not emulatable: " + c.target->op + " is a composite on " + c10::toString(c.ctx->key()) +
                             " and without native_functions.yaml its leaves cannot be judged; pass "
                             "--native-functions=PATH or name the inner op(s) under 'emulate:'");
  return {c.target->op};
}

// cpu_fallback moves tensors with these ops itself: routing one of them through it would recurse
// until the stack overflows.
std::vector<std::string> emulated_ops(const Case& c, const verdicts::Verdict& v) {
  static const std::set<std::string> kFallbackMachinery = {
      "aten::copy_",   "aten::_copy_from", "aten::_copy_from_and_resize", "aten::_to_copy", "aten::to.device",
      "aten::to.dtype_layout", "aten::_to_cpu", "aten::empty.memory_format", "aten::empty_strided"};
  auto ops = emulated_ops_unchecked(c, v);
  for (const auto& op : ops)
    if (kFallbackMachinery.count(op))
      throw std::runtime_error("not emulatable: " + op + " is what at::native::cpu_fallback moves tensors with; "
                               "routing it through the fallback would recurse (name another op under 'emulate:')");
  return ops;
}

// What the ops that fell back in the probe move, counted on one more call that routes them
// through the same at::native::cpu_fallback (EmulationScope) with CountMoves watching; on MPS
// that is the path they took anyway. None fell back, or the counting call failed: absent.
std::optional<counters::Moves> count_moves(const Case& c, const OpCalls& calls, const Stack& args,
                                           const c10::Device& dev, const std::vector<std::string>& fallback_ops) {
  if (fallback_ops.empty() || dev.is_cpu()) return std::nullopt;
  try {
    CountMoves count;
    probe(c, calls, args, dev, fallback_ops);
    return count.moves();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

const verdicts::Book& verdict_book(const Case& c) {
  static const verdicts::Book kNoVerdicts(std::nullopt, torch_version(),
                                          std::string(verdict::kUnknownSource) + "no verdicts in this run");
  return c.ctx->verdicts ? *c.ctx->verdicts : kNoVerdicts;
}

// The first visit: the inputs made, the CPU reference call, the probe on the device and its
// checks; what they found.
Findings probe_case(const Case& c, const OpCalls& trait_calls, Inputs& in) {
  const OpCalls calls = with_overrides(trait_calls, *c.target);
  Findings f;
  const auto& dev = c.ctx->device;
  std::optional<verdicts::Verdict> verdict;  // static, from the CPU call's leaves once it ran
  try {
    in.cpu = make_inputs(c, calls);
    f.bytes_in = stack_nbytes(in.cpu);

    // The CPU call is the reference output and shows which leaves a composite runs.
    const Probe cpu = probe(c, calls, in.cpu, c10::kCPU, {}, /*collect_calls=*/true);
    f.bytes_out = nbytes(output_tensors(cpu.out));
    verdict = verdict_book(c).judge(c.target->op, dtype_name(c.dtype), &cpu.calls);
    f.label = label::format(verdict_fields(c.target->op, *verdict));
    if (dev.is_cpu()) return f;

    in.dev = copy_stack(in.cpu, dev);
    std::string max_abs_diff;
    if (c.ctx->emulating()) {
      f.emulate = emulated_ops(c, *verdict);
      const Probe native = probe(c, calls, in.cpu, dev);
      if (auto r = compare_outputs(cpu.out, native.out, calls.check, calls.tol_scale); r.mismatch)
        throw std::runtime_error("native device result differs from CPU: " + *r.mismatch);
      f.fallback_ops = native.fallback_ops;
      if (!f.emulate.empty()) {
        CountMoves count;
        const Probe emulated = probe(c, calls, in.cpu, dev, f.emulate);
        f.moves = count.moves();
        f.fallback_ops = emulated.fallback_ops;
        if (f.fallback_ops.empty())
          throw std::runtime_error("emulation of " + join(f.emulate, ",") +
                                   " was not reached: the op runs elsewhere on this device; name the inner op(s) "
                                   "under 'emulate:'");
        const auto r = compare_outputs(native.out, emulated.out, calls.check, calls.tol_scale);
        if (r.mismatch) throw std::runtime_error("emulated result differs from native: " + *r.mismatch);
        if (calls.check == Check::kClose) {
          std::ostringstream s;
          s << r.max_abs_diff;
          max_abs_diff = s.str();
        }
      }
    } else {
      const Probe actual = probe(c, calls, in.cpu, dev);
      f.fallback_ops = actual.fallback_ops;
      f.moves = count_moves(c, calls, in.cpu, dev, f.fallback_ops);
      if (auto r = compare_outputs(cpu.out, actual.out, calls.check, calls.tol_scale); r.mismatch)
        throw std::runtime_error("device result differs from CPU: " + *r.mismatch);
    }
    // On MPS (not emulating) the probe is the truth; the static verdict is shown beside it.
    label::Fields label = dev.is_mps() && !c.ctx->emulating()
                              ? verdict_fields(c.target->op, runtime_verdict(f.fallback_ops), &*verdict)
                              : verdict_fields(c.target->op, *verdict);
    label.insert(label.begin(), {label::kFallbackOps, join(f.fallback_ops, ",")});
    label.emplace_back(label::kEmulatedOps, join(f.emulate, ","));
    label.emplace_back(label::kMaxAbsDiff, max_abs_diff);
    if (c.ctx->mps_build) label.emplace_back(label::kStaticTable, to_string(classify(c.op, c10::DispatchKey::MPS)));
    f.label = label::format(label);
  } catch (const std::exception& e) {
    in = {};
    f.error = one_line(torch_message(e), 400);
    // A failed case still says its verdict; failed before the CPU call, the static view alone
    // (a composite's is then unknown).
    if (!verdict) verdict = verdict_book(c).judge(c.target->op, dtype_name(c.dtype), nullptr);
    f.label = label::format(verdict_fields(c.target->op, *verdict));
    // PYTORCH_ENABLE_MPS_FALLBACK=0: MPS raised for an op without a kernel, itself the detection.
    if (const auto v = host::not_implemented_verdict(f.error); v && dev.is_mps())
      f.label = label::format(verdict_fields(c.target->op, *v, &*verdict));
  }
  return f;
}

// A later visit of a case probed before: its inputs made again, as the first visit made them.
Inputs make_visit_inputs(const Case& c, const OpCalls& trait_calls, const Findings& found) {
  Inputs in;
  if (!found.error.empty()) return in;
  try {
    in.cpu = make_inputs(c, trait_calls);  // overrides touch the check, not the inputs
    if (!c.ctx->device.is_cpu()) in.dev = copy_stack(in.cpu, c.ctx->device);
  } catch (const std::exception& e) {
    in = {};
    in.error = one_line(torch_message(e), 400);
  }
  return in;
}

}  // namespace

OpCalls with_overrides(const OpCalls& trait, const OpTarget& t) {
  OpCalls calls = trait;
  if (t.check) calls.check = *t.check;
  if (t.tol_scale > 0) calls.tol_scale = t.tol_scale;
  return calls;
}

c10::DispatchKey RunContext::key() const {
  if (device.is_cuda()) return c10::DispatchKey::CUDA;
  if (device.is_mps()) return c10::DispatchKey::MPS;
  return c10::DispatchKey::CPU;
}

Stack copy_stack(const Stack& in, const c10::Device& device) {
  Stack out;
  out.reserve(in.size());
  for (const auto& v : in) {
    if (v.isTensor()) {
      const auto& t = v.toTensor();
      out.emplace_back(t.defined() ? t.to(device, /*non_blocking=*/false, /*copy=*/true) : t);
    } else if (v.isTensorList()) {
      std::vector<at::Tensor> ts;
      for (const auto& t : v.toTensorVector()) ts.push_back(t.to(device, false, true));
      out.emplace_back(c10::List<at::Tensor>(ts));
    } else if (v.isOptionalTensorList()) {
      c10::List<std::optional<at::Tensor>> ts;
      for (const auto& t : v.toOptionalTensorList()) {
        std::optional<at::Tensor> ot = t;
        ts.push_back(ot ? std::optional<at::Tensor>(ot->to(device, false, true)) : std::nullopt);
      }
      out.emplace_back(ts);
    } else {
      out.push_back(v);
    }
  }
  return out;
}

// What one registered case keeps between its visits; owned beside the case by its registration
// (suite.cpp register_cases), so no table keyed by the case is needed here.
struct CaseState {
  std::optional<Findings> found;  // the first visit's probe
  Inputs inputs;                  // the visit in progress; freed when another case starts
  // Samples from the first measurement: the later visits (repetitions, also interleaved with
  // other cases) take as many, because Google Benchmark requires one iteration count for every
  // repetition of a benchmark.
  std::optional<int64_t> samples;
};

std::shared_ptr<CaseState> new_case_state() { return std::make_shared<CaseState>(); }

namespace {
// The case whose inputs are alive: the run keeps one case's tensors at a time.
CaseState* g_holding = nullptr;
}  // namespace

void release_case_inputs() {
  if (g_holding) g_holding->inputs = {};
  g_holding = nullptr;
}

verdicts::Verdict case_verdict(const Case& c, const OpCalls& calls) {
  const Probe cpu = probe(c, calls, make_inputs(c, calls), c10::kCPU, {}, /*collect_calls=*/true);
  return verdict_book(c).judge(c.target->op, dtype_name(c.dtype), &cpu.calls);
}

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Wakes the intra-op threads before a CPU sample, untimed: they may have gone to sleep while the
// device sample ran, and the timed call must not pay for waking them.
void wake_cpu_threads() {
  const int64_t n = at::get_num_threads();
  if (n > 1) at::parallel_for(0, n, 1, [](int64_t, int64_t) {});
}

// This visit's inputs and, on the first visit, the probe's findings; the error the visit skips
// with, or empty.
std::string prepare(const Case& c, const OpCalls& calls, CaseState& cs) {
  if (g_holding != &cs) {
    release_case_inputs();  // free the previous case's tensors first
    g_holding = &cs;
    if (cs.found)
      cs.inputs = make_visit_inputs(c, calls, *cs.found);
    else
      cs.found = probe_case(c, calls, cs.inputs);
  }
  return cs.found->error.empty() ? cs.inputs.error : cs.found->error;
}

// The interleaved samples after an untimed warm-up, until the stopping rule is met; a call that
// throws ends them with its error, which the case's later visits skip with too.
std::optional<sampling::Series> sample(benchmark::State& state, const Case& c, const OpCalls& calls, CaseState& cs) {
  const Findings& f = *cs.found;
  Inputs& in = cs.inputs;
  const auto& dev = c.ctx->device;
  const bool on_device = !dev.is_cpu();
  // A case whose verdict is native runs natively even in emulate mode: its dev sample is the native one.
  const bool emulate = !f.emulate.empty();

  // One interleaved sample: CPU, then (emulate mode) the native kernel, then the device call,
  // each device call followed by a synchronize before the clock stops. Alternating the sides
  // in one loop makes drift (clocks, thermals, other load) hit them alike.
  const bool steady_cpu = on_device && c.ctx->sampling.cpu_sample == sampling::CpuSample::kSteady;
  double last_cpu_us = 0;  // of the previous sample, warm-up included
  auto take_one = [&](sampling::Series& into) {
    // The device call just before left the CPU's caches, pages and threads to the fallback's
    // copies: one untimed call first, so cpu_us is the op's steady state, as a CPU user's loop
    // (and torch.utils.benchmark.Timer) sees it. On --device=cpu the previous sample is that call.
    if (steady_cpu && last_cpu_us < sampling::kSteadyCpuCallBelowUs) calls.call(c, in.cpu);
    wake_cpu_threads();
    auto t0 = Clock::now();
    calls.call(c, in.cpu);
    auto t1 = Clock::now();
    last_cpu_us = us_between(t0, t1);
    into.cpu.push_back(last_cpu_us);
    if (!on_device) return;
    if (emulate) {
      // The device idled while the CPU sample ran: one untimed native call first, so the timed
      // one does not pay for waking it (clocks, queues, the driver's host thread).
      calls.call(c, in.dev);
      synchronize(dev);
      t0 = Clock::now();
      calls.call(c, in.dev);
      synchronize(dev);
      t1 = Clock::now();
      into.native.push_back(us_between(t0, t1));
    }
    {
      // Registering the override is outside the timed region.
      std::optional<EmulationScope> scope;
      if (emulate) scope.emplace(f.emulate, c.ctx->key());
      t0 = Clock::now();
      calls.call(c, in.dev);
      synchronize(dev);
      t1 = Clock::now();
    }
    into.dev.push_back(us_between(t0, t1));
  };

  sampling::Rule rule = c.ctx->sampling;
  if (cs.samples) rule.fixed = *cs.samples;
  sampling::Series s;
  const auto& timed = on_device ? s.dev : s.cpu;
  try {
    // Untimed warm-up: first touch of output buffers, thread pools, device queues and clocks.
    sampling::Series warm;
    const auto warm_start = Clock::now();
    do take_one(warm);
    while (seconds_since(warm_start) < rule.warmup_s);
    const auto start = Clock::now();
    sampling::run(rule, state.max_iterations, s, timed, [&] { take_one(s); }, [&] { return seconds_since(start); });
  } catch (const std::exception& e) {
    cs.found->error = one_line(torch_message(e), 400);
    return std::nullopt;
  }
  cs.samples = s.size();
  return s;
}

// The row: Google Benchmark's iterations and time, then every counter of the contract.
void set_counters(benchmark::State& state, const Case& c, const Findings& f, const sampling::Series& s) {
  const bool on_device = !c.ctx->device.is_cpu();
  const int64_t n = s.size();
  // Google Benchmark's view: as many iterations as samples, and per iteration the median of
  // the timed side (dev on a device, cpu on --device=cpu), so its real_time is dev_us (cpu_us)
  // and compare.py compares the same medians. The samples are taken before its timer starts,
  // so its cpu_time column does not describe them. n >= max_iterations (sampling::run), as
  // KeepRunningBatch needs.
  const double reported_us = median(on_device ? s.dev : s.cpu);
  while (state.KeepRunningBatch(n)) state.SetIterationTime(reported_us * 1e-6 * static_cast<double>(n));

  counters::CaseTimes t;
  t.samples = n;
  t.cpu_us = median(s.cpu);
  t.cpu_noise = counters::noise(s.cpu);
  if (!s.dev.empty()) {
    t.dev_us = median(s.dev);
    t.dev_noise = counters::noise(s.dev);
    std::vector<double> paired(s.dev.size());
    for (size_t i = 0; i < s.dev.size(); ++i) paired[i] = s.dev[i] - s.cpu[i];
    t.paired_overhead_us = median(std::move(paired));
  }
  if (!s.native.empty()) {
    t.native_us = median(s.native);
    t.native_noise = counters::noise(s.native);
  }
  const counters::Moves* moves = on_device && f.moves ? &*f.moves : nullptr;
  const auto d = counters::derive(t, moves, on_device ? &c.ctx->copy : nullptr);
  counters::set_case(state, t, d, moves, !f.fallback_ops.empty(), f.bytes_in + f.bytes_out);
}

}  // namespace

void run_case(benchmark::State& state, const Case& c, const OpCalls& calls, CaseState& cs) {
  std::string error = prepare(c, calls, cs);
  std::optional<sampling::Series> s;
  if (error.empty()) {
    s = sample(state, c, calls, cs);
    if (!s) error = cs.found->error;
  }
  state.SetLabel(cs.found->label);
  if (s)
    set_counters(state, c, *cs.found, *s);
  else
    state.SkipWithError(error.c_str());
}

}  // namespace mpsfb
