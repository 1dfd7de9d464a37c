// run_case: the measurement model of docs/measurement-model.md, in code.
#include "counters.h"
#include "device.h"
#include "fallback.h"
#include "op_fixture.h"
#include "stats.h"
#include "text.h"

#include <ATen/ATen.h>

#include <chrono>
#include <memory>
#include <sstream>

namespace mpsfb {
namespace {

using Clock = std::chrono::steady_clock;

double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

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

// A case's inputs and probe results, kept while Google Benchmark calls the case again
// (iteration search, repetitions); freed when the next case starts.
struct Prepared {
  const Case* c = nullptr;
  Stack cpu_args, dev_args;
  std::vector<std::string> emulate;  // ops routed through the fallback (emulate mode)
  std::vector<std::string> fallback_ops;
  double bytes_in = 0, bytes_out = 0;
  std::string label;
  std::string error;  // non-empty: every call of this case skips with it
};

std::unique_ptr<Prepared> g_prepared;

c10::DispatchKey device_key(const c10::Device& d) {
  return d.is_cuda() ? c10::DispatchKey::CUDA : c10::DispatchKey::MPS;
}

// Which ops to route through the fallback, or why the op cannot be emulated.
std::vector<std::string> emulated_ops(const Case& c) {
  if (!c.target->emulate.empty()) return c.target->emulate;
  const auto key = device_key(c.ctx->device);
  const auto entry = classify(c.op, key);
  if (entry == DispatchEntry::kComposite)
    throw std::runtime_error("not emulatable: " + c.target->op + " is a composite on " + c10::toString(key) +
                             " (it decomposes into other ops); name the inner op(s) the device lacks under 'emulate:'");
  return {c.target->op};
}

std::unique_ptr<Prepared> prepare(const Case& c, const OpCalls& trait_calls) {
  // The entry's check: and tol_scale: override the trait's.
  OpCalls calls = trait_calls;
  if (c.target->check) calls.check = *c.target->check;
  if (c.target->tol_scale > 0) calls.tol_scale = c.target->tol_scale;
  auto p = std::make_unique<Prepared>();
  p->c = &c;
  const auto& dev = c.ctx->device;
  const bool emulate = !dev.is_cpu() && c.ctx->fallback == FallbackMode::kEmulate;
  std::vector<std::string> label;
  try {
    at::manual_seed(0);
    p->cpu_args = calls.make(c);
    p->bytes_in = stack_nbytes(p->cpu_args);

    // Probe, outside timing, on copies so in-place ops leave the timed inputs as made.
    auto cpu_probe = copy_stack(p->cpu_args, c10::kCPU);
    const c10::IValue expected = calls.call(c, cpu_probe);
    p->bytes_out = nbytes(output_tensors(expected));
    if (dev.is_cpu()) return p;

    p->dev_args = copy_stack(p->cpu_args, dev);
    if (emulate) {
      p->emulate = emulated_ops(c);
      auto native_probe = copy_stack(p->cpu_args, dev);
      const c10::IValue native = calls.call(c, native_probe);
      synchronize(dev);
      if (auto r = compare_outputs(expected, native, calls.check, calls.tol_scale); r.mismatch)
        throw std::runtime_error("native device result differs from CPU: " + *r.mismatch);
      c10::IValue emulated;
      {
        EmulationScope scope(p->emulate, device_key(dev));
        FallbackObserver observer;
        auto dev_probe = copy_stack(p->cpu_args, dev);
        emulated = calls.call(c, dev_probe);
        synchronize(dev);
        p->fallback_ops = observer.fallback_ops();
      }
      if (p->fallback_ops.empty())
        throw std::runtime_error("emulation of " + join(p->emulate, ",") +
                                 " was not reached: the op runs elsewhere on this device; name the inner op(s) under "
                                 "'emulate:'");
      const auto r = compare_outputs(native, emulated, calls.check, calls.tol_scale);
      if (r.mismatch) throw std::runtime_error("emulated result differs from native: " + *r.mismatch);
      if (calls.check == Check::kClose) {
        std::ostringstream s;
        s << "emulated_vs_native_max_abs_diff=" << r.max_abs_diff;
        label.push_back(s.str());
      }
    } else {
      c10::IValue actual;
      {
        FallbackObserver observer;
        auto dev_probe = copy_stack(p->cpu_args, dev);
        actual = calls.call(c, dev_probe);
        synchronize(dev);
        p->fallback_ops = observer.fallback_ops();
      }
      if (auto r = compare_outputs(expected, actual, calls.check, calls.tol_scale); r.mismatch)
        throw std::runtime_error("device result differs from CPU: " + *r.mismatch);
    }
    if (!p->fallback_ops.empty()) label.insert(label.begin(), "fallback_ops=" + join(p->fallback_ops, ","));
    if (c.ctx->mps_build) label.push_back(std::string("static=") + to_string(classify(c.op, c10::DispatchKey::MPS)));
    p->label = join(label, "; ");
  } catch (const std::exception& e) {
    p->cpu_args.clear();
    p->dev_args.clear();
    p->error = one_line(torch_message(e), 400);
  }
  return p;
}

}  // namespace

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

void release_case_inputs() { g_prepared.reset(); }

void run_case(benchmark::State& state, const Case& c, const OpCalls& calls) {
  if (!g_prepared || g_prepared->c != &c) {
    g_prepared.reset();  // free the previous case's tensors first
    g_prepared = prepare(c, calls);
  }
  Prepared& p = *g_prepared;
  if (!p.error.empty()) {
    state.SkipWithError(p.error.c_str());
    return;
  }
  const auto& dev = c.ctx->device;
  const bool on_device = !dev.is_cpu();
  const bool emulate = on_device && c.ctx->fallback == FallbackMode::kEmulate;
  const auto key = on_device ? device_key(dev) : c10::DispatchKey::CPU;

  std::vector<double> cpu_us, dev_us, native_us;
  const auto expected = static_cast<size_t>(std::min<int64_t>(state.max_iterations, 1 << 20));
  cpu_us.reserve(expected);
  dev_us.reserve(on_device ? expected : 0);
  native_us.reserve(emulate ? expected : 0);
  try {
    for (auto _ : state) {
      // CPU and device alternate in one loop, so drift hits both alike.
      auto t0 = Clock::now();
      calls.call(c, p.cpu_args);
      auto t1 = Clock::now();
      cpu_us.push_back(us_between(t0, t1));
      if (!on_device) {
        state.SetIterationTime(cpu_us.back() * 1e-6);
        continue;
      }
      if (emulate) {
        t0 = Clock::now();
        calls.call(c, p.dev_args);
        synchronize(dev);
        t1 = Clock::now();
        native_us.push_back(us_between(t0, t1));
      }
      {
        // Registering the override is outside the timed region.
        std::optional<EmulationScope> scope;
        if (emulate) scope.emplace(p.emulate, key);
        t0 = Clock::now();
        calls.call(c, p.dev_args);
        synchronize(dev);
        t1 = Clock::now();
      }
      dev_us.push_back(us_between(t0, t1));
      state.SetIterationTime(dev_us.back() * 1e-6);
    }
  } catch (const std::exception& e) {
    g_prepared->error = one_line(torch_message(e), 400);
    state.SkipWithError(g_prepared->error.c_str());
    return;
  }
  if (cpu_us.empty()) return;

  counters::CaseTimes t;
  t.cpu_us = median(cpu_us);
  if (!dev_us.empty()) {
    t.dev_us = median(dev_us);
    std::vector<double> paired(dev_us.size());
    for (size_t i = 0; i < dev_us.size(); ++i) paired[i] = dev_us[i] - cpu_us[i];
    t.paired_overhead_us = median(std::move(paired));
  }
  if (!native_us.empty()) t.native_us = median(native_us);
  const auto d = counters::derive(t, p.bytes_in, p.bytes_out, on_device ? &c.ctx->copy : nullptr);
  counters::set(state, counters::kCpuUs, t.cpu_us);
  counters::set(state, counters::kDevUs, t.dev_us);
  counters::set(state, counters::kNativeUs, t.native_us);
  counters::set(state, counters::kPenalty, d.penalty);
  counters::set(state, counters::kOverheadUs, d.overhead_us);
  counters::set(state, counters::kFloorUs, d.floor_us);
  counters::set(state, counters::kCopyEfficiency, d.copy_efficiency);
  counters::set(state, counters::kFallback, p.fallback_ops.empty() ? 0.0 : 1.0);
  counters::set(state, counters::kBytes, p.bytes_in + p.bytes_out);
  state.SetLabel(p.label);
}

}  // namespace mpsfb
