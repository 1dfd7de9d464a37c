#include "result.h"

namespace mpsfb {

namespace {

// "a=1; b=2" -> {a: 1}, {b: 2}: items split at `item_sep`, each at its first `kv_sep`; an item
// without it is a key with an empty value; empty items are skipped.
std::vector<std::pair<std::string, std::string>> split_pairs(const std::string& text, const std::string& item_sep,
                                                             char kv_sep) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(item_sep, start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    if (!item.empty()) {
      const size_t at = item.find(kv_sep);
      if (at == std::string::npos)
        out.emplace_back(item, "");
      else
        out.emplace_back(item.substr(0, at), item.substr(at + 1));
    }
    start = end + item_sep.size();
  }
  return out;
}

}  // namespace

namespace name {

Segments split(const std::string& name) { return split_pairs(name, "/", ':'); }

}  // namespace name

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
  for (auto& [key, value] : split_pairs(label, "; ", '=')) out[key] = value;
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
