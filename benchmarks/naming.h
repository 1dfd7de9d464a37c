// Benchmark names are key:value segments, so --benchmark_filter and the report can split them:
//   op:aten::roll/shape:64x3x256x256/dtype:f32/device:cuda
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mpsfb {

// "64x3x256x256"; a 0-dim shape is "scalar".
std::string shape_str(const std::vector<int64_t>& shape);
// The device as a name segment: "cuda" (any index), "mps", "cpu".
std::string device_segment(const c10::Device& d);
std::string case_name(const std::string& op, const std::vector<int64_t>& shape, at::ScalarType dtype,
                      const std::string& device);

}  // namespace mpsfb
