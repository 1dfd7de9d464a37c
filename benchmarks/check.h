// Is the device result the CPU result? Outputs are compared tensor by tensor (a tuple or
// list is flattened) with tolerances that depend on the dtype.
#pragma once

#include <ATen/core/ivalue.h>

#include <optional>
#include <string>
#include <vector>

namespace mpsfb {

enum class Check {
  kClose,   // allclose with the dtype's tolerances (exact for integers and bool)
  kRandom,  // random ops: same shape and dtype, finite, and the same distribution (two-sample KS test)
};

struct Tolerance {
  double rtol, atol;
};
// Defaults per dtype, scaled by `scale` (for ops whose results accumulate rounding error).
Tolerance tolerance_for(at::ScalarType t, double scale = 1.0);

struct CheckResult {
  std::optional<std::string> mismatch;  // set when the outputs differ beyond tolerance
  double max_abs_diff = 0;              // over all compared elements (kClose only)
};

// `expected` and `actual` may live on different devices.
CheckResult compare_outputs(const c10::IValue& expected, const c10::IValue& actual, Check check, double tol_scale = 1.0);

// The tensors of an output, in order (a tuple or list is flattened; non-tensors skipped).
std::vector<at::Tensor> output_tensors(const c10::IValue& v);

}  // namespace mpsfb
