// Observe: which ops fall back, seen through RecordFunction and the MPS fallback warning
// (FallbackObserver), and in timeline mode how long each took. Declared in fallback.h.
#include "fallback_internal.h"
#include "mps_messages.h"

#include <ATen/record_function.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iterator>

namespace mpsfb {

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
  if (auto name = fn.operator_name()) return detail::qualified_name(*name);
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

}  // namespace

namespace detail {

Timeline take(ObserverTimeline& raw) {
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

}  // namespace detail

std::string op_from_fallback_warning(const std::string& message) {
  return quoted_op(message, {" is not currently supported on the MPS backend and will fall back"});
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
  return detail::take(*timeline_);
}

}  // namespace mpsfb
