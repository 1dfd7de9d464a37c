#include "check.h"

#include "dtypes.h"

#include <ATen/ATen.h>

#include <cmath>
#include <sstream>

namespace mpsfb {
namespace {

void flatten(const c10::IValue& v, std::vector<at::Tensor>& out) {
  if (v.isTensor()) {
    out.push_back(v.toTensor());
  } else if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) flatten(e, out);
  } else if (v.isList()) {
    for (const auto& e : v.toListRef()) flatten(e, out);
  } else if (v.isTensorList()) {
    for (const auto& t : v.toTensorVector()) out.push_back(t);
  }
}

std::string describe(const at::Tensor& t) {
  std::ostringstream s;
  s << dtype_name(t.scalar_type()) << t.sizes();
  return s.str();
}

}  // namespace

std::vector<at::Tensor> output_tensors(const c10::IValue& v) {
  std::vector<at::Tensor> out;
  flatten(v, out);
  return out;
}

Tolerance tolerance_for(at::ScalarType t, double scale) {
  Tolerance tol{0, 0};
  switch (t) {
    case at::kHalf: tol = {1e-3, 1e-3}; break;
    case at::kBFloat16: tol = {1.6e-2, 1e-2}; break;
    case at::kFloat:
    case at::kComplexFloat: tol = {1e-4, 1e-5}; break;
    case at::kDouble:
    case at::kComplexDouble: tol = {1e-7, 1e-7}; break;
    default: break;  // integers and bool: exact
  }
  return {tol.rtol * scale, tol.atol * scale};
}

CheckResult compare_outputs(const c10::IValue& expected, const c10::IValue& actual, Check check, double tol_scale) {
  CheckResult r;
  const auto exp = output_tensors(expected);
  const auto act = output_tensors(actual);
  if (exp.size() != act.size()) {
    r.mismatch = "the device returned " + std::to_string(act.size()) + " tensors, the CPU " + std::to_string(exp.size());
    return r;
  }
  for (size_t i = 0; i < exp.size(); ++i) {
    const at::Tensor e = exp[i].cpu();
    const at::Tensor a = act[i].cpu();
    const std::string which = "output " + std::to_string(i) + ": ";
    if (e.sizes() != a.sizes() || e.scalar_type() != a.scalar_type()) {
      r.mismatch = which + "device gave " + describe(a) + ", CPU " + describe(e);
      return r;
    }
    if (e.numel() == 0) continue;
    if (check == Check::kRandom) {
      // Random ops draw from different generators on each side: compare the distribution.
      if (a.is_floating_point() && !at::isfinite(a).all().item<bool>()) {
        r.mismatch = which + "non-finite values in a random result";
        return r;
      }
      if (a.numel() < 256) continue;  // too few draws for a moment check to mean anything
      const auto ef = e.to(at::kDouble), af = a.to(at::kDouble);
      const double em = ef.mean().item<double>(), am = af.mean().item<double>();
      const double es = ef.std().item<double>(), as = af.std().item<double>();
      const double spread = std::max(es, as);
      const double n = static_cast<double>(a.numel());
      // Means within 6 standard errors, spreads within 10% (+ the same sampling slack).
      if (std::abs(em - am) > 6 * spread / std::sqrt(n) + 1e-6 ||
          std::abs(es - as) > 0.1 * spread + 6 * spread / std::sqrt(n) + 1e-6) {
        std::ostringstream s;
        s << which << "random result's moments differ: mean " << am << " vs CPU " << em << ", std " << as
          << " vs CPU " << es;
        r.mismatch = s.str();
        return r;
      }
      continue;
    }
    const auto tol = tolerance_for(e.scalar_type(), tol_scale);
    const bool numeric = e.is_floating_point() || e.is_complex();
    const auto diff = numeric ? (e.to(at::kComplexDouble) - a.to(at::kComplexDouble)).abs()
                              : (e.to(at::kLong) - a.to(at::kLong)).abs().to(at::kDouble);
    // NaN in the same places is equal (torch.testing's equal_nan).
    const auto both_nan = numeric ? at::logical_and(at::isnan(e), at::isnan(a)) : at::zeros_like(diff, at::kBool);
    const auto d = diff.masked_fill(both_nan, 0);
    const double max_diff = d.max().item<double>();
    r.max_abs_diff = std::max(r.max_abs_diff, std::isnan(max_diff) ? INFINITY : max_diff);
    const auto allowed = tol.atol + tol.rtol * e.to(at::kComplexDouble).abs();
    const auto bad = at::logical_or(d > allowed, at::isnan(d));
    if (bad.any().item<bool>()) {
      std::ostringstream s;
      s << which << bad.sum().item<int64_t>() << " of " << e.numel() << " elements differ beyond rtol=" << tol.rtol
        << " atol=" << tol.atol << " (max abs diff " << max_diff << ")";
      r.mismatch = s.str();
      return r;
    }
  }
  return r;
}

}  // namespace mpsfb
