// What the fallback sources share, not for use outside them (fallback.h is the public header):
// the raw timeline that a timeline-mode FallbackObserver (fallback_observe.cpp) and a
// FallbackTimer (fallback_emulate.cpp) both fill, its merge into a Timeline, and the name an
// op is reported by.
#pragma once

#include "fallback.h"
#include "stats.h"

#include <ATen/core/operator_name.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mpsfb::detail {

// Timeline mode: raw spans of the observing thread, merged by take().
struct ObserverTimeline {
  struct Raw {
    std::string op;
    Clock::time_point start, end;
    double drain_us;
  };
  std::vector<Raw> spans;
  int64_t top_level_calls = 0;
  int64_t top_level_fallback_calls = 0;
  double drained_us = 0;  // running total of the drains on this thread
};

// Raw spans -> Timeline; resets `raw`. Spans of one thread nest or are disjoint; an op that
// falls back inside one that already does is part of the outer span and is not counted twice.
// Defined in fallback_observe.cpp.
Timeline take(ObserverTimeline& raw);

// "aten::name.overload", or "aten::name" for the default overload.
inline std::string qualified_name(const c10::OperatorName& name) {
  return name.overload_name.empty() ? name.name : name.name + "." + name.overload_name;
}

}  // namespace mpsfb::detail
