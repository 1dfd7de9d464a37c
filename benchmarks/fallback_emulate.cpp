// Emulate: ops routed through at::native::cpu_fallback on a device that has their kernels
// (EmulationScope), the fallbacks so routed timed (FallbackTimer) and their copies counted
// (CountMoves), and the copy op cpu_fallback needs. Declared in fallback.h.
#include "fallback_internal.h"

#include <ATen/native/CPUFallback.h>
#include <c10/util/Exception.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb {

namespace {

// Filters the kernel-override warning that EmulationScope triggers on purpose.
class OverrideWarningFilter : public c10::WarningHandler {
 public:
  explicit OverrideWarningFilter(c10::WarningHandler* next) : next_(next) {}
  void process(const c10::Warning& w) override {
    if (w.msg().find("Overriding a previously registered kernel") != std::string::npos) return;
    next_->process(w);
  }

 private:
  c10::WarningHandler* next_;
};

// Set while a FallbackTimer lives on this thread.
thread_local FallbackTimer* t_timer = nullptr;

// Set while a CountMoves lives on this thread.
thread_local counters::Moves* t_moves = nullptr;

void count_tensor(const at::Tensor& t, int64_t& n, double& bytes) {
  if (!t.defined() || t.numel() == 0) return;
  ++n;
  bytes += static_cast<double>(t.nbytes());
}

// Calls `f` on each tensor of a value (a tensor, or the defined ones of a list).
template <class F>
void for_each_tensor(const c10::IValue& v, F f) {
  if (v.isTensor()) {
    f(v.toTensor());
  } else if (v.isTensorList()) {
    for (const at::Tensor& t : v.toTensorVector()) f(t);
  } else if (v.isOptionalTensorList()) {
    for (const auto& t : v.toOptionalTensorList()) {
      std::optional<at::Tensor> ot = t;
      if (ot) f(*ot);
    }
  }
}

// cpu_fallback, with what it moves counted as it moves it (see CountMoves).
void counted_cpu_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack, counters::Moves& m) {
  const auto& args = op.schema().arguments();
  const size_t first = stack->size() - args.size();
  std::vector<c10::IValue> mutated;  // written back after the call: counted then (out= may resize)
  for (size_t i = 0; i < args.size(); ++i) {
    const c10::IValue& v = (*stack)[first + i];
    for_each_tensor(v, [&](const at::Tensor& t) {
      if (!t.is_cpu()) count_tensor(t, m.to_cpu, m.to_cpu_bytes);
    });
    if (args[i].alias_info() && args[i].alias_info()->isWrite()) mutated.push_back(v);
  }
  at::native::cpu_fallback(op, stack);
  for (const auto& v : mutated) for_each_tensor(v, [&](const at::Tensor& t) { count_tensor(t, m.to_dev, m.to_dev_bytes); });
  const auto& returns = op.schema().returns();
  const size_t first_return = stack->size() - returns.size();
  for (size_t i = 0; i < returns.size(); ++i) {
    if (returns[i].alias_info() && returns[i].alias_info()->isWrite()) continue;  // the mutated argument itself
    for_each_tensor((*stack)[first_return + i], [&](const at::Tensor& t) { count_tensor(t, m.to_dev, m.to_dev_bytes); });
  }
}

void emulated_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  if (auto* timer = t_timer)
    timer->run(op, stack);
  else if (auto* moves = t_moves)
    counted_cpu_fallback(op, stack, *moves);
  else
    at::native::cpu_fallback(op, stack);
}

at::Tensor copy_from_and_resize(const at::Tensor& self, const at::Tensor& dst) {
  if (dst.sizes() != self.sizes()) dst.resize_(self.sizes());
  dst.copy_(self);
  return dst;
}

}  // namespace

FallbackTimer::FallbackTimer(std::function<void()> drain)
    : drain_(std::move(drain)), timeline_(std::make_unique<detail::ObserverTimeline>()) {
  TORCH_CHECK(t_timer == nullptr, "only one FallbackTimer per thread");
  t_timer = this;
}

FallbackTimer::~FallbackTimer() {
  if (t_timer == this) t_timer = nullptr;
}

Timeline FallbackTimer::take_timeline() { return detail::take(*timeline_); }

void FallbackTimer::run(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  // The span starts before the drain and the drain is taken off, as in the observer.
  const auto start = Clock::now();
  double drain_us = 0;
  if (drain_) {
    drain_();
    drain_us = us_between(start, Clock::now());
  }
  at::native::cpu_fallback(op, stack);
  timeline_->spans.push_back({detail::qualified_name(op.operator_name()), start, Clock::now(), drain_us});
  ++timeline_->top_level_fallback_calls;
}

CountMoves::CountMoves() {
  TORCH_CHECK(t_moves == nullptr, "only one CountMoves per thread");
  t_moves = &moves_;
}

CountMoves::~CountMoves() {
  if (t_moves == &moves_) t_moves = nullptr;
}

EmulationScope::EmulationScope(const std::vector<std::string>& ops, c10::DispatchKey key) {
  OverrideWarningFilter filter(c10::WarningUtils::get_warning_handler());
  c10::WarningUtils::WarningHandlerGuard guard(&filter);
  for (const auto& op : ops) {
    const size_t sep = op.find("::");
    TORCH_CHECK(sep != std::string::npos, "emulate: '", op, "' has no namespace");
    auto lib = std::make_unique<torch::Library>(torch::Library::IMPL, op.substr(0, sep), key, __FILE__, __LINE__);
    lib->impl(op.substr(sep + 2).c_str(), torch::CppFunction::makeFromBoxedFunction<&emulated_fallback>());
    libs_.push_back(std::move(lib));
  }
}

EmulationScope::~EmulationScope() = default;

void ensure_copy_from_and_resize(c10::DispatchKey key) {
  static std::mutex mu;
  static std::vector<std::unique_ptr<torch::Library>> libs;  // live until exit
  std::lock_guard<std::mutex> lock(mu);
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow("aten::_copy_from_and_resize", "");
  if (op.hasKernelForDispatchKey(key)) return;
  auto lib = std::make_unique<torch::Library>(torch::Library::IMPL, "aten", key, __FILE__, __LINE__);
  lib->impl("_copy_from_and_resize", TORCH_FN(copy_from_and_resize));
  libs.push_back(std::move(lib));
}

}  // namespace mpsfb
