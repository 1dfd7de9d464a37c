// A torch error as a message for a row or the terminal (join is the contract's: result.h).
#pragma once

#include "contract/result.h"

#include <c10/util/Exception.h>

#include <exception>
#include <string>
#include <vector>

namespace mpsfb {

// torch's message without the C++ backtrace (a TorchScript error keeps its script traceback).
inline std::string torch_message(const std::exception& e) {
  std::string msg;
  if (auto* ce = dynamic_cast<const c10::Error*>(&e))
    msg = ce->what_without_backtrace();
  else
    msg = e.what();
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

// On one line and at most `max_chars` long, for a benchmark row's error message.
inline std::string one_line(std::string s, size_t max_chars = 1000) {
  for (auto& ch : s)
    if (ch == '\n') ch = ' ';
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  return s;
}

}  // namespace mpsfb
