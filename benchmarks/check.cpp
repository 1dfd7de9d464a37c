#include "check.h"

#include "dtypes.h"

#include <ATen/ATen.h>

#include <cmath>
#include <optional>
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

// Two samples of one distribution? A two-sample Kolmogorov-Smirnov test: the largest gap
// between the empirical CDFs, against c(alpha) * sqrt((n + m) / (n m)) with c = 2.69, i.e.
// alpha ~ 1e-6, so a correct op fails about once in a million probes. It needs no moments
// (Cauchy has none) and stays valid, if conservative, for discrete draws.
std::optional<std::string> distributions_differ(const at::Tensor& expected, const at::Tensor& actual) {
  const auto e = std::get<0>(expected.to(at::kDouble).flatten().sort());
  const auto a = std::get<0>(actual.to(at::kDouble).flatten().sort());
  const double n = static_cast<double>(e.numel()), m = static_cast<double>(a.numel());
  const auto points = at::cat({e, a});
  const auto cdf_e = at::searchsorted(e, points, /*out_int32=*/false, /*right=*/true).to(at::kDouble) / n;
  const auto cdf_a = at::searchsorted(a, points, /*out_int32=*/false, /*right=*/true).to(at::kDouble) / m;
  const double d = (cdf_e - cdf_a).abs().max().item<double>();
  const double critical = 2.69 * std::sqrt((n + m) / (n * m));
  if (d <= critical) return std::nullopt;
  std::ostringstream s;
  s << "random result's distribution differs from the CPU's (Kolmogorov-Smirnov D=" << d << " > " << critical
    << "; median " << a[a.numel() / 2].item<double>() << " vs CPU " << e[e.numel() / 2].item<double>() << ")";
  return s.str();
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
      if (a.numel() < 256) continue;  // too few draws for a distribution check to mean anything
      if (auto why = distributions_differ(e, a)) {
        r.mismatch = which + *why;
        return r;
      }
      continue;
    }
    const auto tol = tolerance_for(e.scalar_type(), tol_scale);
    const bool numeric = e.is_floating_point() || e.is_complex();
    const auto diff = numeric ? (e.to(at::kComplexDouble) - a.to(at::kComplexDouble)).abs()
                              : (e.to(at::kLong) - a.to(at::kLong)).abs().to(at::kDouble);
    // NaN in the same places is equal (torch.testing's equal_nan), and so are equal
    // infinities, whose difference is NaN.
    const auto same = numeric ? at::logical_or(at::logical_and(at::isnan(e), at::isnan(a)), e == a)
                              : at::zeros_like(diff, at::kBool);
    const auto d = diff.masked_fill(same, 0);
    const double max_diff = d.max().item<double>();
    r.max_abs_diff = std::max(r.max_abs_diff, std::isnan(max_diff) ? INFINITY : max_diff);
    const auto allowed = tol.atol + tol.rtol * e.to(at::kComplexDouble).abs();
    // An infinite gap (inf against -inf or a finite value) is never within tolerance.
    const auto bad = at::logical_or(at::logical_or(d > allowed, at::isnan(d)), at::isinf(d));
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
