// The templated fixture every op shares, and the one place ops register.
//
// An op trait says how to build an op's inputs and how to call it:
//
//   struct Roll : mpsfb::OpTrait {
//     static constexpr const char* kOp = "aten::roll";
//     static c10::IValue call(const mpsfb::Case&, mpsfb::Stack& a) { return at::roll(a[0].toTensor(), {1}, {0}); }
//   };
//   MPSFB_REGISTER_OP(Roll);
//
// OpTrait's make() gives the case's own tensor; a trait with other inputs defines its own.
// make() returns CPU values (tensors, scalars, lists) in call order; the fixture copies the
// tensors to the device once, so both sides see identical inputs. out= variants put their
// preallocated output in the stack. Shapes and dtypes come from ops/targets.yaml only.
#pragma once

#include "check.h"
#include "contract/verdict.h"
#include "counters.h"
#include "sampling.h"
#include "targets.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/ivalue.h>
#include <benchmark/benchmark.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <vector>

namespace mpsfb {

using Stack = std::vector<c10::IValue>;

enum class FallbackMode { kAuto, kEmulate };

// What holds for the whole run.
struct RunContext {
  c10::Device device{c10::kCPU};
  FallbackMode fallback = FallbackMode::kAuto;
  bool emulate_all = false;  // --emulate=all: emulate every op, not only those whose verdict is "falls back"
  counters::CopyModel copy;  // measured at start on a device, or --copy-model=FILE
  sampling::Rule sampling;   // when a case has taken enough samples (--noise_target, ...)
  bool mps_build = false;    // static MPS classification is meaningful
  const verdicts::Book* verdicts = nullptr;  // static MPS verdicts of the linked torch; null: none
  std::string native_functions;              // the yaml those verdicts come from, or "not found: why"

  // The device's dispatch key (CPU, CUDA or MPS).
  c10::DispatchKey key() const;
  // Emulating the fallback on a device (--fallback=emulate).
  bool emulating() const { return !device.is_cpu() && fallback == FallbackMode::kEmulate; }
};

// One registered benchmark: op x shape x dtype.
struct Case {
  const OpTarget* target = nullptr;
  c10::OperatorHandle op;
  std::vector<int64_t> shape;
  at::ScalarType dtype = at::kFloat;
  const RunContext* ctx = nullptr;
};

// The case's own tensor: its shape and dtype, filled by `init` (see docs/targets-format.md).
at::Tensor input(const Case& c, Init init = Init::kRandn);

// Defaults a trait may hide.
struct OpTrait {
  static constexpr Check kCheck = Check::kClose;
  static constexpr double kTolScale = 1.0;  // widen tolerances for ops that accumulate error
  // The case's own tensor, the only input of most ops.
  static std::vector<c10::IValue> make(const Case& c) { return {input(c)}; }
};

// The trait's functions, type-erased so the runner is compiled once.
struct OpCalls {
  Stack (*make)(const Case&);
  c10::IValue (*call)(const Case&, Stack&);
  Check check;
  double tol_scale;
};

// The trait's calls with the entry's check: and tol_scale: overrides applied.
OpCalls with_overrides(const OpCalls& trait, const OpTarget& t);

// What one registered case keeps between its visits (runner.cpp): what its probe found, the
// inputs of the visit in progress, its sample count. Owned beside the case by its registration.
struct CaseState;
std::shared_ptr<CaseState> new_case_state();

// Prepares the case (its first visit probes it: fallback? correct?), then times CPU and device
// calls interleaved and sets the counters. Errors become SkipWithError with torch's message.
void run_case(benchmark::State& state, const Case& c, const OpCalls& calls, CaseState& state_of_case);

// The case's MPS verdict for the linked torch (static), from one CPU call that shows which leaves
// a composite op runs.
verdicts::Verdict case_verdict(const Case& c, const OpCalls& calls);

template <class Trait>
struct OpFixture {
  static const OpCalls& calls() {
    static const OpCalls c{&Trait::make, &Trait::call, Trait::kCheck, Trait::kTolScale};
    return c;
  }
};

// Op name ("aten::roll", with overload if any) -> its trait's calls; the suite runs them
// through run_case, tests call make/call directly. The generic, args-driven fixture
// registers under kGenericFixture.
inline constexpr const char* kGenericFixture = "<generic>";
// Runs during static initialisation, so it never throws: an op registered twice is kept
// for run_main to report (duplicate_registrations()).
bool register_op(const char* op, const OpCalls& calls);
const OpCalls* find_op(const std::string& op);  // nullptr when no trait registered `op`
std::vector<std::string> duplicate_registrations();

// Checks an entry's `args:` against the op's schema at load time; the generic fixture
// registers it (the harness does not depend on fixtures). Problems come back with their
// own file:line:column.
using ArgsChecker = std::vector<std::string> (*)(const OpTarget&, const c10::FunctionSchema&);
bool register_args_checker(ArgsChecker checker);
ArgsChecker find_args_checker();

// Deep copies of the stack's tensors (also inside lists) on `device`; other values are
// shared. Each probe call of an in-place op starts from the inputs as made.
Stack copy_stack(const Stack& in, const c10::Device& device);

// Frees the inputs the runner keeps for the case it ran last (after a run of the suite).
void release_case_inputs();

at::Tensor make_tensor(const std::vector<int64_t>& shape, at::ScalarType dtype, Init init, int64_t lo = 0,
                       int64_t hi = 10);

}  // namespace mpsfb

#define MPSFB_CONCAT_INNER(a, b) a##b
#define MPSFB_CONCAT(a, b) MPSFB_CONCAT_INNER(a, b)
// Registers an op trait; put it right under the trait's definition.
#define MPSFB_REGISTER_OP(Trait)                                                 \
  [[maybe_unused]] static const bool MPSFB_CONCAT(mpsfb_registered_, __LINE__) = \
      ::mpsfb::register_op(Trait::kOp, ::mpsfb::OpFixture<Trait>::calls())
