#include "attribution.h"

#include "device.h"
#include "stats.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

namespace mpsfb {
namespace {



}  // namespace

double time_pass(const c10::Device& device, const std::function<void()>& pass) {
  synchronize(device);
  const auto t0 = Clock::now();
  pass();
  synchronize(device);
  return us_between(t0, Clock::now());
}

ObservedPass observe_pass(const c10::Device& device, const std::function<void()>& pass, Observation how) {
  // synchronize() dispatches no op, so the drain does not re-enter the observer.
  std::function<void()> drain;
  if (!device.is_cpu()) drain = [device] { synchronize(device); };
  std::optional<FallbackObserver> observer;
  std::optional<FallbackTimer> timer;
  if (how == Observation::kRecordFunction) {
    ObserverOptions options;
    options.timeline = true;
    options.drain = std::move(drain);
    observer.emplace(std::move(options));
  } else {
    timer.emplace(std::move(drain));
  }
  ObservedPass out;
  synchronize(device);
  const auto t0 = Clock::now();
  pass();
  synchronize(device);
  out.pass_us = us_between(t0, Clock::now());
  out.timeline = observer ? observer->take_timeline() : timer->take_timeline();
  return out;
}

void AttributionTotals::add(const ObservedPass& p) {
  ++passes_;
  pass_us_ += p.pass_us;
  calls_ += p.timeline.top_level_calls;
  fallback_calls_ += p.timeline.top_level_fallback_calls;
  fallbacks_ += static_cast<int64_t>(p.timeline.fallbacks.size());
  for (const auto& f : p.timeline.fallbacks) {
    fallback_us_ += f.us;
    op_us_[f.op] += f.us;
  }
}

double AttributionTotals::fallback_pct() const { return pass_us_ > 0 ? 100.0 * fallback_us_ / pass_us_ : 0.0; }

double AttributionTotals::fallback_calls_pct() const {
  return calls_ > 0 ? 100.0 * static_cast<double>(fallback_calls_) / static_cast<double>(calls_) : 0.0;
}

double AttributionTotals::total_ops() const {
  return passes_ > 0 ? static_cast<double>(calls_) / static_cast<double>(passes_) : 0.0;
}

double AttributionTotals::fallback_us() const { return passes_ > 0 ? fallback_us_ / static_cast<double>(passes_) : 0.0; }

double AttributionTotals::fallbacks_per_pass() const {
  return passes_ > 0 ? static_cast<double>(fallbacks_) / static_cast<double>(passes_) : 0.0;
}

std::vector<std::pair<std::string, double>> AttributionTotals::by_op() const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [op, us] : op_us_) out.emplace_back(op, pass_us_ > 0 ? 100.0 * us / pass_us_ : 0.0);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

std::string AttributionTotals::top_fallback(size_t n) const {
  std::string out;
  const auto ops = by_op();
  for (size_t i = 0; i < ops.size() && i < n; ++i) {
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.1f%%", ops[i].second);
    out += (out.empty() ? "" : ",") + ops[i].first + ":" + pct;
  }
  return out;
}

}  // namespace mpsfb
