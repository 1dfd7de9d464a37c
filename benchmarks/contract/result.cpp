#include "result.h"

namespace mpsfb {

namespace label {

std::string format(const Fields& fields) {
  std::string out;
  for (const auto& [key, raw] : fields) {
    if (raw.empty()) continue;
    std::string value = raw;
    for (size_t at = value.find("; "); at != std::string::npos; at = value.find("; ", at)) value.replace(at, 2, ", ");
    out += (out.empty() ? "" : "; ") + key + "=" + value;
  }
  return out;
}

std::map<std::string, std::string> parse(const std::string& label) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= label.size()) {
    size_t end = label.find("; ", start);
    if (end == std::string::npos) end = label.size();
    const std::string item = label.substr(start, end - start);
    if (!item.empty()) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos)
        out[item] = "";
      else
        out[item.substr(0, eq)] = item.substr(eq + 1);
    }
    start = end + 2;
  }
  return out;
}

}  // namespace label

namespace verdict {

std::string text(const std::string& verdict, const std::string& op, const std::vector<std::string>& via) {
  std::string leaves;
  for (const auto& v : via) leaves += (leaves.empty() ? "" : ", ") + v;
  if (verdict == kFallsBack && !via.empty() && !(via.size() == 1 && via[0] == op)) return verdict + " via " + leaves;
  if (verdict == kNative && !via.empty() && !(via.size() == 1 && via[0] == op))
    return "native: all leaves have MPS kernels (" + leaves + ")";
  return verdict;
}

}  // namespace verdict

}  // namespace mpsfb
