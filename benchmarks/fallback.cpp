#include "fallback.h"

#include "stats.h"

#include <ATen/native/CPUFallback.h>
#include <ATen/record_function.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <iterator>
#include <regex>

namespace mpsfb {

namespace detail {
// Timeline mode: raw spans of the observing thread, merged by take_timeline().
struct ObserverTimeline {
  struct Raw {
    std::string op;
    std::chrono::steady_clock::time_point start, end;
    double drain_us;
  };
  std::vector<Raw> spans;
  int64_t top_level_calls = 0;
  int64_t top_level_fallback_calls = 0;
  double drained_us = 0;  // running total of the drains on this thread
};
}  // namespace detail

namespace {


std::atomic<FallbackObserver*> g_observer{nullptr};

// One op entered on this thread and not yet left. The RecordFunction lives on the
// dispatcher's stack until the op's end callback, so the pointer stays valid while the frame
// is open; the name is only built when it is needed.
struct Frame {
  const at::RecordFunction* fn;
  // Timeline mode, observing thread only:
  Clock::time_point start{};
  double drained_at_start = 0;
  bool fallback = false;        // this op's own scope holds a fallback
  bool holds_fallback = false;  // (top level) some op in its scope fell back
};

// Ops entered on this thread, innermost last.
thread_local std::vector<Frame> t_scope;
// Set on the thread that created a timeline-mode observer, null elsewhere.
thread_local detail::ObserverTimeline* t_timeline = nullptr;

std::string op_name(const at::RecordFunction& fn) {
  if (auto name = fn.operator_name()) {
    return name->overload_name.empty() ? name->name : name->name + "." + name->overload_name;
  }
  return fn.name();
}

// Timeline mode: the innermost open op of this thread fell back.
void mark_fallback() {
  if (!t_timeline || t_scope.empty()) return;
  t_scope.back().fallback = true;
  t_scope.front().holds_fallback = true;
}

std::unique_ptr<at::ObserverContext> on_op_start(const at::RecordFunction& fn) {
  if (auto* obs = g_observer.load()) {
    if (std::strcmp(fn.name(), "aten::_to_cpu") == 0) {
      obs->record(t_scope.empty() ? std::string("<outside any op>") : op_name(*t_scope.back().fn));
      if (t_timeline && !t_scope.empty()) {
        mark_fallback();
        if (const auto& drain = obs->options().drain) {
          const auto t0 = Clock::now();
          drain();
          t_timeline->drained_us += us_between(t0, Clock::now());
        }
      }
    }
    if (obs->options().collect_ops) obs->record_seen(op_name(fn));
    if (obs->options().collect_calls && !t_scope.empty()) obs->record_call(op_name(*t_scope.back().fn), op_name(fn));
  }
  Frame f{&fn};
  if (t_timeline) {
    if (t_scope.empty()) ++t_timeline->top_level_calls;
    f.drained_at_start = t_timeline->drained_us;
    f.start = Clock::now();
  }
  t_scope.push_back(f);
  return nullptr;
}

void on_op_end(const at::RecordFunction& fn, at::ObserverContext*) {
  if (t_scope.empty()) return;
  if (t_scope.back().fn != &fn) {
    // An op whose start this observer did not see (it began before the observer did).
    auto it = std::find_if(t_scope.rbegin(), t_scope.rend(), [&](const Frame& f) { return f.fn == &fn; });
    if (it == t_scope.rend()) return;
    t_scope.erase(std::prev(it.base()), t_scope.end());
    return;
  }
  const Frame f = t_scope.back();
  t_scope.pop_back();
  if (!t_timeline) return;
  if (f.fallback)
    t_timeline->spans.push_back({op_name(fn), f.start, Clock::now(), t_timeline->drained_us - f.drained_at_start});
  if (t_scope.empty() && f.holds_fallback) ++t_timeline->top_level_fallback_calls;
}

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


// Raw spans -> Timeline; resets `raw`. Spans of one thread nest or are disjoint; an op that
// falls back inside one that already does is part of the outer span and is not counted twice.
Timeline take(detail::ObserverTimeline& raw) {
  Timeline out;
  out.top_level_calls = raw.top_level_calls;
  out.top_level_fallback_calls = raw.top_level_fallback_calls;
  auto spans = std::move(raw.spans);
  std::sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) {
    return a.start != b.start ? a.start < b.start : a.end > b.end;
  });
  Clock::time_point covered{};
  for (const auto& s : spans) {
    if (!out.fallbacks.empty() && s.start < covered) continue;
    covered = s.end;
    out.fallbacks.push_back({s.op, std::max(0.0, us_between(s.start, s.end) - s.drain_us), s.drain_us});
  }
  raw.spans.clear();
  raw.top_level_calls = 0;
  raw.top_level_fallback_calls = 0;
  return out;
}

at::Tensor copy_from_and_resize(const at::Tensor& self, const at::Tensor& dst) {
  if (dst.sizes() != self.sizes()) dst.resize_(self.sizes());
  dst.copy_(self);
  return dst;
}

}  // namespace

std::string op_from_fallback_warning(const std::string& message) {
  static const std::regex kWarn(R"(The operator '([^']+)' is not currently supported on the MPS backend and will fall back)");
  std::smatch m;
  return std::regex_search(message, m, kWarn) ? m[1].str() : std::string();
}

struct FallbackObserver::WarningCapture : c10::WarningHandler {
  explicit WarningCapture(FallbackObserver* o)
      : owner(o), prev(c10::WarningUtils::get_warning_handler()), always(true), guard(this) {}
  void process(const c10::Warning& w) override {
    const auto op = op_from_fallback_warning(w.msg());
    if (op.empty()) {
      prev->process(w);
    } else {
      owner->record(op);
      mark_fallback();  // the warning comes from inside the op that falls back
    }
  }
  FallbackObserver* owner;
  c10::WarningHandler* prev;
  c10::WarningUtils::WarnAlways always;
  c10::WarningUtils::WarningHandlerGuard guard;
};

FallbackObserver::FallbackObserver() : FallbackObserver(ObserverOptions{}) {}

FallbackObserver::FallbackObserver(ObserverOptions options) : options_(std::move(options)) {
  FallbackObserver* expected = nullptr;
  TORCH_CHECK(g_observer.compare_exchange_strong(expected, this), "only one FallbackObserver may be active");
  t_scope.clear();
  if (options_.timeline) {
    timeline_ = std::make_unique<detail::ObserverTimeline>();
    t_timeline = timeline_.get();
  }
  handle_ = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&on_op_start, &on_op_end).scopes({at::RecordScope::FUNCTION}));
  warnings_ = std::make_unique<WarningCapture>(this);
}

FallbackObserver::~FallbackObserver() {
  warnings_.reset();
  at::removeCallback(handle_);
  t_scope.clear();
  if (timeline_ && t_timeline == timeline_.get()) t_timeline = nullptr;
  g_observer.store(nullptr);
}

void FallbackObserver::record(const std::string& op) {
  std::lock_guard<std::mutex> lock(mu_);
  ops_.insert(op);
}

std::vector<std::string> FallbackObserver::fallback_ops() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {ops_.begin(), ops_.end()};
}

void FallbackObserver::record_seen(const std::string& op) {
  std::lock_guard<std::mutex> lock(mu_);
  seen_.insert(op);
}

void FallbackObserver::record_call(const std::string& caller, const std::string& callee) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_[caller].insert(callee);
}

std::map<std::string, std::set<std::string>> FallbackObserver::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

std::vector<std::string> FallbackObserver::seen_ops() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {seen_.begin(), seen_.end()};
}

Timeline FallbackObserver::take_timeline() {
  TORCH_CHECK(timeline_, "take_timeline() needs an observer made with ObserverOptions::timeline");
  return take(*timeline_);
}

FallbackTimer::FallbackTimer(std::function<void()> drain)
    : drain_(std::move(drain)), timeline_(std::make_unique<detail::ObserverTimeline>()) {
  TORCH_CHECK(t_timer == nullptr, "only one FallbackTimer per thread");
  t_timer = this;
}

FallbackTimer::~FallbackTimer() {
  if (t_timer == this) t_timer = nullptr;
}

Timeline FallbackTimer::take_timeline() { return take(*timeline_); }

void FallbackTimer::run(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  // The span starts before the drain and the drain is taken off, as in the observer.
  const auto start = Clock::now();
  double drain_us = 0;
  if (drain_) {
    drain_();
    drain_us = us_between(start, Clock::now());
  }
  at::native::cpu_fallback(op, stack);
  const auto& name = op.operator_name();
  timeline_->spans.push_back({name.overload_name.empty() ? name.name : name.name + "." + name.overload_name, start,
                              Clock::now(), drain_us});
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

const char* to_string(DispatchEntry e) {
  switch (e) {
    case DispatchEntry::kMissing: return "missing";
    case DispatchEntry::kBackendFallback: return "backend fallback";
    case DispatchEntry::kFallbackKernel: return "MPSFallback.mm kernel";
    case DispatchEntry::kKernel: return "native kernel";
    case DispatchEntry::kComposite: return "composite";
  }
  return "?";
}

DispatchEntry classify_table_line(const std::string& line) {
  if (line.find("[backend fallback]") != std::string::npos) return DispatchEntry::kBackendFallback;
  if (line.find("[math kernel]") != std::string::npos || line.find("[default backend kernel]") != std::string::npos)
    return DispatchEntry::kComposite;
  if (line.find("[kernel]") != std::string::npos) {
    // Kernels that MPSFallback.mm registers always fall back. _slow_conv2d_forward's entry
    // there only raises a better error (reference: mps-fallback-facts.md §3).
    if (line.find("MPSFallback.mm") != std::string::npos) return DispatchEntry::kFallbackKernel;
    return DispatchEntry::kKernel;
  }
  return DispatchEntry::kMissing;
}

DispatchEntry classify(const c10::OperatorHandle& op, c10::DispatchKey key) {
  const std::string prefix = std::string(c10::toString(key)) + ": ";
  const std::string table = op.dumpComputedTable();
  size_t pos = 0;
  while (pos < table.size()) {
    size_t end = table.find('\n', pos);
    if (end == std::string::npos) end = table.size();
    if (table.compare(pos, prefix.size(), prefix) == 0) {
      const auto entry = classify_table_line(table.substr(pos, end - pos));
      const bool slow_conv = op.schema().name() == "aten::_slow_conv2d_forward";
      return entry == DispatchEntry::kFallbackKernel && slow_conv ? DispatchEntry::kKernel : entry;
    }
    pos = end + 1;
  }
  return DispatchEntry::kMissing;
}

bool has_mps_backend() {
  return c10::Dispatcher::singleton().hasBackendFallbackForDispatchKey(c10::DispatchKey::MPS);
}

}  // namespace mpsfb
