// The op that PyTorch's MPS messages name, read from their text (LibTorch-free: the harness
// reads them from warnings and errors, mpsfb_report from any program's log):
//   MPSFallback.mm's warning:  The operator 'aten::foo' is not currently supported on the MPS
//                              backend and will fall back to run on the CPU. ...
//   its NotImplementedError:   The operator 'aten::foo' is not currently implemented for the MPS
//                              device. ... (older torch: "not current implemented")
// Scanned by hand, not with std::regex, which recursed once per character of the op name
// (a 30,000-character name in a log overflowed the stack; Note [No regex on user text]).
#pragma once

#include <initializer_list>
#include <string>

namespace mpsfb {

// The op of the first "The operator '<op>'" on `text` that one of `tails` follows; "" if none.
inline std::string quoted_op(const std::string& text, std::initializer_list<const char*> tails) {
  static const std::string kHead = "The operator '";
  for (size_t at = text.find(kHead); at != std::string::npos; at = text.find(kHead, at + 1)) {
    const size_t start = at + kHead.size(), end = text.find('\'', start);
    if (end == std::string::npos) return "";
    if (end == start) continue;
    for (const char* tail : tails)
      if (text.compare(end + 1, std::char_traits<char>::length(tail), tail) == 0) return text.substr(start, end - start);
  }
  return "";
}

inline std::string op_in_fallback_warning(const std::string& text) {
  return quoted_op(text, {" is not currently supported on the MPS backend"});
}

inline std::string op_in_not_implemented(const std::string& text) {
  return quoted_op(text, {" is not currently implemented for the MPS device", " is not current implemented for the MPS device"});
}

}  // namespace mpsfb
