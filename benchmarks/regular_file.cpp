#include "regular_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

}  // namespace mpsfb
