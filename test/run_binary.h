// Running mps_benchmarks as a user does, from tests: a real process, its exit code and its
// output; test data paths; a fresh path for --benchmark_out.
#pragma once

#include "paths.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace mpsfb::testing {

struct Run {
  int rc;
  std::string output;  // stdout and stderr
};

inline Run run_mps_benchmarks(const std::string& args) {
  const std::string cmd = std::string(MPSFB_BINARY_DIR) + "/mps_benchmarks " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (p && fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int status = p ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline std::string data_path(const char* name) { return std::string(MPSFB_SOURCE_DIR) + "/test/data/" + name; }

// A path in the temp folder that does not exist yet (so a test can tell if a run wrote it).
inline std::filesystem::path fresh_temp_path(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove(p);
  return p;
}

}  // namespace mpsfb::testing
