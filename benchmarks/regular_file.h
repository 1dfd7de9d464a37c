// Reading an input file that a user named: only a regular file, never a FIFO, a device or a
// directory, and never more than a cap. LibTorch-free; mps_benchmarks and mpsfb_report share it.
//
//   const std::string text = read_regular_file("ops/targets.yaml", "the targets file");
//
// Note [Why open non-blocking, then fstat]: checking the path first and opening it after
// leaves a window in which the path can become a FIFO, and opening a FIFO for reading blocks
// until a writer comes, for ever. Opening with O_NONBLOCK never blocks; fstat on the open
// descriptor then says what was really opened, and only a regular file is read.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace mpsfb {

// "PATH: cannot open the targets file: no such file", "PATH: the targets file is a directory...".
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr size_t kMaxInputFileBytes = size_t{256} << 20;

// The whole file. `what` names it in messages ("the targets file", "the benchmark JSON").
// Throws FileError, starting with `path`, when it is missing, unreadable, not a regular file,
// or larger than `max_bytes`.
std::string read_regular_file(const std::string& path, const std::string& what,
                              size_t max_bytes = kMaxInputFileBytes);

}  // namespace mpsfb
