#include "naming.h"

#include "contract/result.h"
#include "dtypes.h"

namespace mpsfb {

std::string shape_str(const std::vector<int64_t>& shape) {
  if (shape.empty()) return "scalar";
  std::string out;
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "x" : "") + std::to_string(shape[i]);
  return out;
}

std::string device_segment(const c10::Device& d) { return d.is_cuda() ? "cuda" : d.str(); }

std::string case_name(const std::string& op, const std::vector<int64_t>& shape, at::ScalarType dtype,
                      const std::string& device) {
  return name::join(
      {{name::kOp, op}, {name::kShape, shape_str(shape)}, {name::kDtype, dtype_name(dtype)}, {name::kDevice, device}});
}

}  // namespace mpsfb
