#include "regular_file.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <iostream>
#include <cstring>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/fs.h>
#include <sys/ioctl.h>
#endif

namespace mpsfb {

namespace {

// Closes the descriptor on every path out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string mib(size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

struct InputId {
  dev_t dev;
  ino_t ino;
  std::string path;
};

std::mutex inputs_mutex;
std::vector<InputId>& inputs() {
  static std::vector<InputId> read;
  return read;
}

void remember_input(const struct stat& st, const std::string& path) {
  std::lock_guard<std::mutex> lock(inputs_mutex);
  for (const auto& i : inputs())
    if (i.dev == st.st_dev && i.ino == st.st_ino) return;
  inputs().push_back({st.st_dev, st.st_ino, path});
}

std::string folder_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string read_regular_file(const std::string& path, const std::string& what, size_t max_bytes) {
  const std::string where = path + ": ";
  // See Note [Why open non-blocking, then fstat].
  Fd f{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (f.fd < 0) {
    const int err = errno;
    const std::string why = err == ENOENT ? "no such file" : err == EACCES ? "permission denied" : std::strerror(err);
    throw FileError(where + "cannot open " + what + ": " + why);
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw FileError(where + "cannot read " + what + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw FileError(where + what + " is a directory (expected: a file)");
  if (!S_ISREG(st.st_mode))
    throw FileError(where + what + " is not a regular file (a FIFO, socket or device; expected: a file)");
  if (st.st_size > 0 && static_cast<unsigned long long>(st.st_size) > max_bytes)
    throw FileError(where + what + " is " + mib(static_cast<size_t>(st.st_size)) + ", over the " + mib(max_bytes) +
                    " this program reads");
  remember_input(st, path);
  const int flags = ::fcntl(f.fd, F_GETFL);
  if (flags >= 0) ::fcntl(f.fd, F_SETFL, flags & ~O_NONBLOCK);

  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FileError(where + "cannot read " + what + ": " + std::strerror(errno));
    }
    // A file in /proc says size 0 and may still be long: the cap holds while reading too.
    if (text.size() + static_cast<size_t>(n) > max_bytes)
      throw FileError(where + what + " is larger than the " + mib(max_bytes) + " this program reads");
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

std::string same_file_as_input(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  std::lock_guard<std::mutex> lock(inputs_mutex);
  for (const auto& i : inputs())
    if (i.dev == st.st_dev && i.ino == st.st_ino) return i.path;
  return "";
}

std::string temp_beside(const std::string& target) {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  const std::string dir = folder_of(target);
  return (dir == "/" ? "" : dir) + "/.mpsfb-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000007) +
         ".tmp";
}

std::string output_obstacle(const std::string& path, bool folder_may_be_missing) {
  if (path.empty()) return "names no file";
  if (path.find('\0') != std::string::npos) return "holds a NUL character, which no file name can";
  const std::string name = path.substr(path.find_last_of('/') + 1);
  if (name.empty() || name == "." || name == "..") return "names no file";
  if (name.size() > NAME_MAX)
    return "cannot be written: its file name is " + std::to_string(name.size()) + " bytes, longer than the " +
           std::to_string(NAME_MAX) + " a file name may have";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return "is a directory";
    if (!S_ISREG(st.st_mode)) return "exists and is not a regular file (a device, FIFO or socket)";
#if defined(__linux__) && defined(FS_IOC_GETFLAGS)
    // A rename over an immutable or append-only file fails: found now, not after other renames.
    if (const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC); fd >= 0) {
      int flags = 0;
      const bool known = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
      ::close(fd);
      if (known && (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)))
        return "cannot be replaced: it is immutable or append-only (chattr +i or +a)";
    }
#endif
    if (::access(path.c_str(), W_OK) != 0) return "is read-only (" + std::string(std::strerror(errno)) + ")";
  } else if (errno == ENAMETOOLONG) {
    return "cannot be written: its path is too long";
  } else if (errno == ELOOP) {
    return "cannot be written: a loop of symbolic links";
  }
  // The nearest folder that exists must be a folder this program can write in.
  std::string dir = folder_of(path);
  for (;;) {
    struct stat d {};
    if (::stat(dir.c_str(), &d) == 0) {
      if (!S_ISDIR(d.st_mode)) return "cannot be written: " + dir + " is not a directory";
      // Creating a file there says what access() cannot: /proc, a read-only mount, no inodes.
      const HoldSignals hold;  // the probe is removed before a signal ends the program
      const std::string probe = temp_beside(dir + "/x");
      const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) return "cannot write in its directory " + dir + " (" + std::strerror(errno) + ")";
      ::close(fd);
      ::unlink(probe.c_str());
      return "";
    }
    if (errno != ENOENT) return "cannot be written: " + dir + ": " + std::strerror(errno);
    if (!folder_may_be_missing) return "cannot be written: its folder " + dir + " does not exist";
    if (dir == "." || dir == "/") return "";
    dir = folder_of(dir);
  }
}

HoldSignals::HoldSignals() {
  sigset_t hold;
  sigemptyset(&hold);
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&hold, s);
  sigprocmask(SIG_BLOCK, &hold, &old_);
}

HoldSignals::~HoldSignals() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

void write_file_whole(const std::string& path, const std::string& content) {
  const HoldSignals hold;  // the temporary is renamed or removed before a signal ends the program
  const std::string temp = temp_beside(path);
  Fd f{::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
  if (f.fd < 0) throw FileError(path + ": cannot write in its directory: " + std::strerror(errno));
  for (size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(f.fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::unlink(temp.c_str());
      throw FileError(path + ": cannot write: " + why + "; the previous file, if any, is untouched");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(f.fd) != 0 || ::close(f.fd) != 0) {
    f.fd = -1;
    const std::string why = std::strerror(errno);
    ::unlink(temp.c_str());
    throw FileError(path + ": cannot write: " + why + "; the previous file, if any, is untouched");
  }
  f.fd = -1;
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temp.c_str());
    throw FileError(path + ": cannot replace: " + why + "; the previous file, if any, is untouched");
  }
}

std::string stdout_problem() {
  std::cout.flush();
  errno = 0;
  if (std::fflush(stdout) == 0 && !std::ferror(stdout) && std::cout.good()) return "";
  const int err = errno;
  return std::string("cannot write to standard output") + (err ? ": " + std::string(std::strerror(err)) : "") +
         " (the output is incomplete)";
}

}  // namespace mpsfb
