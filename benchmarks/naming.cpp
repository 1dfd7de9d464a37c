#include "naming.h"

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
  return "op:" + op + "/shape:" + shape_str(shape) + "/dtype:" + dtype_name(dtype) + "/device:" + device;
}

std::map<std::string, std::string> split_name(const std::string& name) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    std::string seg = name.substr(start, end - start);
    // The op value holds "::" (aten::roll): split at the first ':' only.
    size_t colon = seg.find(':');
    if (colon == std::string::npos)
      out[seg] = "";
    else
      out[seg.substr(0, colon)] = seg.substr(colon + 1);
    start = end + 1;
  }
  return out;
}

}  // namespace mpsfb
