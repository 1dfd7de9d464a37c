// The only calls mps_benchmarks makes that exist on Apple platforms alone. Elsewhere they
// compile to stubs that return "", so their callers need no #if: what to do with the answers is
// in host.h, tested on every OS.
#pragma once

#include <string>

namespace mpsfb::apple {

// sysctlbyname as a string ("kern.osproductversion" -> "15.1", "hw.machine" -> "arm64",
// "machdep.cpu.brand_string" -> "Apple M2 Pro"); "" when the key is missing or off Apple.
std::string sysctl_string(const char* name);

// This process's executable (_NSGetExecutablePath, made absolute and free of symlinks with
// realpath); "" off Apple or when it cannot be had.
std::string executable_path();

}  // namespace mpsfb::apple
