#include "op_fixture.h"

#include <ATen/ATen.h>

#include <map>
#include <stdexcept>

namespace mpsfb {
namespace {

std::map<std::string, OpCalls>& registry() {
  static std::map<std::string, OpCalls> ops;  // built during static init, read-only after
  return ops;
}

ArgsChecker g_args_checker = nullptr;

std::vector<std::string>& duplicates() {
  static std::vector<std::string> ops;
  return ops;
}

}  // namespace

bool register_op(const char* op, const OpCalls& calls) {
  if (!registry().emplace(op, calls).second) duplicates().push_back(op);
  return true;
}

const OpCalls* find_op(const std::string& op) {
  auto it = registry().find(op);
  return it == registry().end() ? nullptr : &it->second;
}

bool register_args_checker(ArgsChecker checker) {
  g_args_checker = checker;
  return true;
}

ArgsChecker find_args_checker() { return g_args_checker; }

std::vector<std::string> duplicate_registrations() { return duplicates(); }

at::Tensor make_tensor(const std::vector<int64_t>& shape, at::ScalarType dtype, Init init, int64_t lo, int64_t hi) {
  const auto opts = at::TensorOptions().dtype(dtype);
  const bool floating = at::isFloatingType(dtype) || at::isComplexType(dtype);
  switch (init) {
    case Init::kRandn:
      // Integer and bool dtypes have no normal distribution: use small integers instead.
      return floating ? at::randn(shape, opts) : at::randint(lo, hi, shape, opts);
    case Init::kRand: return floating ? at::rand(shape, opts) : at::randint(0, 2, shape, opts);
    case Init::kRandint: return at::randint(lo, hi, shape, opts);
    case Init::kArange: {
      int64_t n = 1;
      for (auto d : shape) n *= d;
      return at::arange(n, at::TensorOptions().dtype(at::kDouble)).to(dtype).reshape(shape);
    }
    case Init::kOnes: return at::ones(shape, opts);
    case Init::kZeros: return at::zeros(shape, opts);
    case Init::kSpd: {
      // A A^T + n I over the last two dims: symmetric positive definite, well conditioned.
      if (shape.size() < 2 || shape[shape.size() - 1] != shape[shape.size() - 2])
        throw std::invalid_argument("init spd needs a square matrix shape (..., n, n)");
      const int64_t n = shape.back();
      auto a = at::randn(shape, at::TensorOptions().dtype(at::kDouble));
      auto spd = at::matmul(a, a.transpose(-2, -1)) + n * at::eye(n, at::TensorOptions().dtype(at::kDouble));
      return spd.to(dtype);
    }
  }
  throw std::logic_error("unknown init");
}

at::Tensor input(const Case& c, Init init) { return make_tensor(c.shape, c.dtype, init); }

}  // namespace mpsfb
