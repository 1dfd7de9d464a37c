#include "apple.h"

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#include <sys/sysctl.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <vector>
#endif

namespace mpsfb::apple {

#if defined(__APPLE__)

std::string sysctl_string(const char* name) {
  size_t size = 0;
  if (sysctlbyname(name, nullptr, &size, nullptr, 0) != 0 || size == 0) return "";
  std::string out(size, '\0');
  if (sysctlbyname(name, out.data(), &size, nullptr, 0) != 0) return "";
  out.resize(out.find('\0') == std::string::npos ? size : out.find('\0'));
  return out;
}

std::string executable_path() {
  uint32_t size = 0;
  _NSGetExecutablePath(nullptr, &size);  // asks for the size it needs
  std::vector<char> buf(size + 1, '\0');
  if (size == 0 || _NSGetExecutablePath(buf.data(), &size) != 0) return "";
  char resolved[PATH_MAX];
  return realpath(buf.data(), resolved) ? std::string(resolved) : std::string(buf.data());
}

#else

std::string sysctl_string(const char*) { return ""; }
std::string executable_path() { return ""; }

#endif

}  // namespace mpsfb::apple
