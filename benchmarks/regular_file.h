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

#include <csignal>
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

// The input that `path` is, by identity (device and inode, so another spelling or a link is
// the same file), among those read_regular_file read in this process: its path as read, or ""
// when `path` is none of them. An output that is an input would destroy it.
std::string same_file_as_input(const std::string& path);

// What stands in the way of replacing `path` with a new regular file, checked before anything
// is written: "" when nothing, else why ("is a directory", "is immutable (chattr +i)", ...).
// `folder_may_be_missing`: a missing folder is created by the writer (mpsfb_report), not an
// obstacle.
std::string output_obstacle(const std::string& path, bool folder_may_be_missing);

// A temporary beside `target` (same folder, so the rename stays on one file system), named
// apart from the target's own name: a long or odd name cannot make it collide or overflow.
std::string temp_beside(const std::string& target);

// `content` into `path` whole or not at all: a temporary beside it, synced, then renamed over
// it, with signals held (HoldSignals). Throws FileError naming `path` and why (a full disk);
// the previous file is then untouched.
void write_file_whole(const std::string& path, const std::string& content);

// "" when everything written to standard output (std::cout and stdout) reached it, else why
// not ("cannot write to standard output: No space left on device"): checked once at exit.
std::string stdout_problem();

// Holds SIGINT, SIGTERM and SIGHUP while alive: a write phase (temporaries, then renames)
// finishes whole, and a signal that came meanwhile ends the program right after.
class HoldSignals {
 public:
  HoldSignals();
  ~HoldSignals();
  HoldSignals(const HoldSignals&) = delete;
  HoldSignals& operator=(const HoldSignals&) = delete;

 private:
  sigset_t old_;
};

}  // namespace mpsfb
