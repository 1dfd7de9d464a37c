#include "verdict_source.h"

#include <yaml-cpp/yaml.h>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace mpsfb::verdicts {
namespace fs = std::filesystem;
namespace {

constexpr const char* kLatest = "latest";

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

// A version becomes a directory name and a pip pin: a digit first, no path characters
// (tools/fetch_torch_files.py checks the same).
bool release_shaped(const std::string& v) {
  if (v.empty() || !std::isdigit(static_cast<unsigned char>(v[0])) || v.find("..") != std::string::npos) return false;
  for (const char c : v)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr(".+!-_", c)) return false;
  return true;
}

// Reads a file the caller has checked is a regular file; throws naming it.
std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error(path.string() + ": cannot be read");
  return text.str();
}

std::string short_hex(const std::string& hex) { return hex.substr(0, 12); }

// ---- SHA-256 (FIPS 180-4): the cache's and the labels' file identities ----
uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

}  // namespace

std::string sha256_hex(const std::string& bytes) {
  static const uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::string m = bytes;
  const uint64_t bits = static_cast<uint64_t>(bytes.size()) * 8;
  m += static_cast<char>(0x80);
  while (m.size() % 64 != 56) m += '\0';
  for (int i = 7; i >= 0; --i) m += static_cast<char>((bits >> (8 * i)) & 0xff);
  for (size_t off = 0; off < m.size(); off += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t(uint8_t(m[off + 4 * i])) << 24) | (uint32_t(uint8_t(m[off + 4 * i + 1])) << 16) |
             (uint32_t(uint8_t(m[off + 4 * i + 2])) << 8) | uint32_t(uint8_t(m[off + 4 * i + 3]));
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      const uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    const uint32_t add[8] = {a, b, c, d, e, f, g, hh};
    for (int i = 0; i < 8; ++i) h[i] += add[i];
  }
  char out[65];
  for (int i = 0; i < 8; ++i) std::snprintf(out + 8 * i, 9, "%08x", h[i]);
  return std::string(out, 64);
}

// ---- the flags ----

std::string SourceFlags::given() const {
  if (!verdict_torch.empty()) return "--verdict-torch=" + verdict_torch;
  if (!native_functions.empty()) return "--native-functions=" + native_functions;
  if (!torch_source.empty()) return "--torch-source=" + torch_source;
  return {};
}

bool take_source_flag(const std::string& key, const std::string& value, SourceFlags& flags) {
  std::string* slot = key == "--verdict-torch"      ? &flags.verdict_torch
                      : key == "--native-functions" ? &flags.native_functions
                      : key == "--torch-source"     ? &flags.torch_source
                                                    : nullptr;
  if (!slot) return false;
  if (value.empty()) throw std::invalid_argument(key + " needs a value (" + key + "=...)");
  if (const std::string before = flags.given(); !before.empty())
    throw std::invalid_argument(key + "=" + value + ": the verdicts come from one source, and " + before +
                                " names one already (--verdict-torch, --native-functions or --torch-source)");
  if (key == "--verdict-torch" && value != kLatest && !release_shaped(value))
    throw std::invalid_argument("--verdict-torch=" + value + ": expected a torch release such as 2.15.0, or latest");
  *slot = value;
  return true;
}

const char* source_flags_usage() {
  return "  --verdict-torch=VERSION|latest  judge MPS verdicts by that torch release's native_functions.yaml\n"
         "                          (macOS arm64 wheel fetched once with your pip into the cache\n"
         "                          $MPSFB_CACHE_DIR or ~/.cache/mps-fallback-bench; latest: the newest\n"
         "                          release your index has). Cannot be had: the linked torch judges, saying so\n"
         "  --native-functions=PATH judge by this native_functions.yaml\n"
         "  --torch-source=DIR      judge by a PyTorch checkout: its yaml, aten/src/ATen/mps/MPSFallback.mm\n"
         "                          and the MPS registrations in aten/src/ATen/native/mps (its commit shown)\n"
         "                          (at most one of the three; none: the yaml beside the linked torch)\n";
}

std::string cache_root() {
  if (const char* d = std::getenv("MPSFB_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/mps-fallback-bench";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/mps-fallback-bench";
}

// ---- the scanner: TORCH_LIBRARY_IMPL(aten, MPS, m) { m.impl("name", ...); } ----
namespace {

// The text with comments replaced by spaces (newlines kept, so offsets and lines stay) and
// string and character literals left as they are.
std::string blank_comments(const std::string& t) {
  std::string s = t;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '"' || s[i] == '\'') {
      const char q = s[i++];
      while (i < s.size() && s[i] != q && s[i] != '\n') i += s[i] == '\\' ? 2 : 1;
      ++i;
    } else if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') s[i++] = ' ';
    } else if (s.compare(i, 2, "/*") == 0) {
      const size_t end = s.find("*/", i + 2);
      const size_t stop = end == std::string::npos ? s.size() : end + 2;
      for (; i < stop; ++i)
        if (s[i] != '\n') s[i] = ' ';
    } else {
      ++i;
    }
  }
  return s;
}

// From an opening bracket at `open`, the index of its matching closer (npos: unbalanced),
// skipping literals.
size_t matching(const std::string& s, size_t open, char opener, char closer) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"' || c == '\'') {
      for (++i; i < s.size() && s[i] != c && s[i] != '\n'; i += s[i] == '\\' ? 2 : 1) {
      }
    } else if (c == opener) {
      ++depth;
    } else if (c == closer && --depth == 0) {
      return i;
    }
  }
  return std::string::npos;
}

// The top-level comma-separated arguments between s[open] == '(' and s[close] == ')'.
std::vector<std::string> arguments(const std::string& s, size_t open, size_t close) {
  std::vector<std::string> args;
  size_t start = open + 1;
  for (size_t i = open + 1; i < close; ++i) {
    const char c = s[i];
    if (c == '"' || c == '\'') {
      for (++i; i < close && s[i] != c; i += s[i] == '\\' ? 2 : 1) {
      }
    } else if (c == '(' || c == '<' || c == '{' || c == '[') {
      const char closer = c == '(' ? ')' : c == '<' ? '>' : c == '{' ? '}' : ']';
      const size_t m = matching(s, i, c, closer);
      if (m != std::string::npos && m < close) i = m;
    } else if (c == ',') {
      args.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  args.push_back(trim(s.substr(start, close - start)));
  return args;
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Offsets of `word` as a whole identifier in s, from `from` to `to`.
std::vector<size_t> find_word(const std::string& s, const std::string& word, size_t from, size_t to) {
  std::vector<size_t> at;
  for (size_t i = s.find(word, from); i != std::string::npos && i < to; i = s.find(word, i + 1)) {
    const bool left = i == 0 || !ident_char(s[i - 1]);
    const bool right = i + word.size() >= s.size() || !ident_char(s[i + word.size()]);
    if (left && right) at.push_back(i);
  }
  return at;
}

size_t skip_space(const std::string& s, size_t i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

int line_of(const std::string& s, size_t at) {
  return 1 + static_cast<int>(std::count(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

// The op name of an impl()'s first argument: its first string literal ("roll",
// TORCH_SELECTIVE_NAME("aten::roll")), without the namespace; empty when it holds none.
std::string impl_name(const std::string& arg) {
  const size_t q = arg.find('"');
  if (q == std::string::npos) return {};
  const size_t e = arg.find('"', q + 1);
  if (e == std::string::npos) return {};
  std::string name = arg.substr(q + 1, e - q - 1);
  if (name.rfind("aten::", 0) == 0) name = name.substr(6);
  return name;
}

struct ImplRow {
  std::string name;
  std::string kernel;  // the second argument, whitespace removed
  int line = 0;
};

// Every `<m>.impl("name", kernel)` inside each TORCH_LIBRARY_IMPL(aten, MPS, <m>) { ... } block.
std::vector<ImplRow> aten_mps_impls(const std::string& text) {
  const std::string s = blank_comments(text);
  std::vector<ImplRow> rows;
  for (const size_t at : find_word(s, "TORCH_LIBRARY_IMPL", 0, s.size())) {
    const size_t open = skip_space(s, at + std::strlen("TORCH_LIBRARY_IMPL"));
    if (open >= s.size() || s[open] != '(') continue;
    const size_t close = matching(s, open, '(', ')');
    if (close == std::string::npos) continue;
    const auto args = arguments(s, open, close);
    if (args.size() != 3 || args[0] != "aten" || args[1] != "MPS") continue;
    const size_t body = skip_space(s, close + 1);
    if (body >= s.size() || s[body] != '{') continue;
    const size_t end = matching(s, body, '{', '}');
    if (end == std::string::npos) continue;
    for (const size_t v : find_word(s, args[2], body, end)) {
      size_t i = skip_space(s, v + args[2].size());
      if (i >= end || s[i] != '.') continue;
      i = skip_space(s, i + 1);
      if (s.compare(i, 4, "impl") != 0 || (i + 4 < s.size() && ident_char(s[i + 4]))) continue;
      const size_t p = skip_space(s, i + 4);
      if (p >= end || s[p] != '(') continue;
      const size_t q = matching(s, p, '(', ')');
      if (q == std::string::npos || q > end) continue;
      const auto impl_args = arguments(s, p, q);
      ImplRow row{impl_name(impl_args[0]), {}, line_of(s, v)};
      if (row.name.empty()) continue;
      for (const char c : impl_args.size() > 1 ? impl_args[1] : std::string())
        if (!std::isspace(static_cast<unsigned char>(c))) row.kernel += c;
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace

std::vector<std::pair<std::string, int>> mps_fallback_rows(const std::string& text) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& r : aten_mps_impls(text))
    if (r.kernel.find("makeFromBoxedFunction<&mps_fallback>") != std::string::npos) out.emplace_back(r.name, r.line);
  return out;
}

std::vector<std::pair<std::string, int>> mps_registrations(const std::string& text) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& r : aten_mps_impls(text)) out.emplace_back(r.name, r.line);
  return out;
}

// ---- the commit of a checkout, from its .git without git ----

std::string git_commit(const std::string& dir) {
  std::error_code ec;
  fs::path git = fs::path(dir) / ".git";
  auto first_line = [](const fs::path& p) {
    std::ifstream in(p);
    std::string line;
    std::getline(in, line);
    return trim(line);
  };
  if (fs::is_regular_file(git, ec)) {  // a worktree or submodule: "gitdir: <path>"
    const std::string line = first_line(git);
    if (line.rfind("gitdir:", 0) != 0) return {};
    fs::path target = trim(line.substr(7));
    git = target.is_absolute() ? target : fs::path(dir) / target;
  }
  if (!fs::is_directory(git, ec)) return {};
  fs::path common = git;  // refs live in the main repository's directory for a worktree
  if (fs::is_regular_file(git / "commondir", ec)) {
    const fs::path c = first_line(git / "commondir");
    common = c.is_absolute() ? c : git / c;
  }
  auto is_sha = [](const std::string& s) {
    return s.size() >= 40 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  };
  std::string head = first_line(git / "HEAD");
  for (int hops = 0; hops < 5 && head.rfind("ref:", 0) == 0; ++hops) {
    const std::string ref = trim(head.substr(4));
    head.clear();
    for (const fs::path& base : {git, common})
      if (fs::is_regular_file(base / ref, ec)) {
        head = first_line(base / ref);
        break;
      }
    if (head.empty()) {  // packed-refs: "<sha> <ref>" lines
      std::ifstream packed(common / "packed-refs");
      for (std::string line; std::getline(packed, line);) {
        const size_t sp = line.find(' ');
        if (sp != std::string::npos && trim(line.substr(sp + 1)) == ref) head = line.substr(0, sp);
      }
    }
  }
  return is_sha(head) ? head : std::string();
}

// ---- the Book ----
namespace {

Book linked_book(const Linked& linked, const std::string& program, std::string* context_value) {
  std::string why = linked.yaml.empty() ? linked.why_none : std::string();
  std::optional<NativeFunctions> nf;
  std::string bytes;
  if (why.empty()) {
    try {
      nf = load_native_functions(linked.yaml);
      bytes = read_file(linked.yaml);
    } catch (const std::exception& e) {
      why = e.what();
      nf.reset();
    }
  }
  if (!nf) {
    std::cerr << program << ": no MPS verdicts: " << why << "; the run goes on, every verdict is unknown\n";
    if (context_value) *context_value = "not found: " + why;
    return Book(std::nullopt, linked.torch_version, std::string(verdict::kUnknownSource) + "no native_functions.yaml (" + why + ")");
  }
  if (context_value) *context_value = linked.yaml;
  Book book(std::move(nf), linked.torch_version);
  Origin o;
  o.file = linked.yaml;
  o.id = "sha256:" + sha256_hex(bytes);
  o.linked_torch = linked.torch_version;
  book.set_origin(std::move(o));
  return book;
}

// The yaml of an explicit source: a flag error naming the flag when it cannot be used.
NativeFunctions explicit_yaml(const std::string& flag, const std::string& path, std::string* bytes) {
  try {
    NativeFunctions nf = load_native_functions(path);
    *bytes = read_file(path);
    return nf;
  } catch (const std::exception& e) {
    throw SourceError(flag + ": " + e.what());
  }
}

// wheel.json of a cache entry, checked: every listed file has its sha256. Throws why not.
struct Entry {
  std::string version, wheel, sha256, yaml, yaml_sha256;
};
Entry valid_entry(const fs::path& dir) {
  std::error_code ec;
  const fs::path meta = dir / "wheel.json";
  if (!fs::is_regular_file(meta, ec)) throw std::runtime_error(meta.string() + ": missing");
  Entry e;
  try {
    const YAML::Node j = YAML::Load(read_file(meta));
    e.version = j["version"].as<std::string>();
    e.wheel = j["wheel"].as<std::string>();
    e.sha256 = j["sha256"].as<std::string>();
    for (const auto& kv : j["files"]) {
      const fs::path file = dir / kv.first.as<std::string>();
      if (!fs::is_regular_file(file, ec) || sha256_hex(read_file(file)) != kv.second.as<std::string>())
        throw std::runtime_error(file.string() + ": sha256 does not match wheel.json");
      if (kv.first.as<std::string>() == "native_functions.yaml") e.yaml_sha256 = kv.second.as<std::string>();
    }
  } catch (const YAML::Exception& ex) {
    throw std::runtime_error(meta.string() + ": not a wheel.json of this cache (" + ex.msg + ")");
  }
  if (e.yaml_sha256.empty()) throw std::runtime_error(meta.string() + ": lists no native_functions.yaml");
  e.yaml = (dir / "native_functions.yaml").string();
  return e;
}

// Runs `python script --version V`: its stderr (pip's progress, notes) passes through as it
// comes, except its own "fetch_torch_files: " lines, held back so that the last one can become
// the reason of a failure. Returns the entry directory (the last line of its stdout).
std::string run_fetcher(const Fetcher& f, const std::string& version) {
  std::error_code ec;
  if (!fs::is_regular_file(f.script, ec)) throw std::runtime_error(f.script + ": no such file (the fetcher)");
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]), close(out[1]), close(err[0]), close(err[1]);
    std::vector<std::string> args = {f.python, f.script, "--version", version};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(f.python.c_str(), argv.data());
    std::fprintf(stderr, "fetch_torch_files: cannot run %s: %s\n", f.python.c_str(), std::strerror(errno));
    _exit(127);
  }
  close(out[1]), close(err[1]);
  const std::string prefix = "fetch_torch_files: ";
  std::string stdout_text, line, held;  // line: stderr since its last newline, not yet shown
  bool line_shown = false;              // part of `line` went out already (a progress bar)
  std::array<pollfd, 2> fds{pollfd{out[0], POLLIN, 0}, pollfd{err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (auto& p : fds) {
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(p.fd, buf, sizeof buf);
      if (n <= 0) {
        close(p.fd);
        p.fd = -1;
        --open_fds;
        continue;
      }
      if (p.fd == out[0]) {
        stdout_text.append(buf, static_cast<size_t>(n));
        continue;
      }
      for (ssize_t i = 0; i < n; ++i) {
        line += buf[i];
        const bool ours = line.size() >= prefix.size() ? line.compare(0, prefix.size(), prefix) == 0
                                                        : prefix.compare(0, line.size(), line) == 0;
        if (!ours || buf[i] == '\n') {  // a line before this one was not the last: show it
          std::cerr << held;
          held.clear();
        }
        if (buf[i] == '\n') {
          if (ours)
            held = line;
          else
            std::cerr << (line_shown ? std::string(1, '\n') : line);
          line.clear();
          line_shown = false;
        } else if (!ours) {  // someone else's text: show it as it comes (progress bars)
          std::cerr << (line_shown ? std::string(1, buf[i]) : line);
          line_shown = true;
        }
      }
      std::cerr.flush();
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::string why = trim(held.empty() ? line : held);
  if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size());
  if (!ok) {
    if (why.empty()) why = f.script + " failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
    throw std::runtime_error(why);
  }
  if (!held.empty()) std::cerr << held;
  const std::string text = trim(stdout_text);
  const size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

Book release_book(const std::string& version, const Fetcher& fetcher, const Linked& linked, std::string* context_value) {
  const fs::path entry_dir = fs::path(cache_root()) / "torch" / version;
  Entry e;
  bool have = false;
  if (version != kLatest) {
    try {
      e = valid_entry(entry_dir);
      have = true;
    } catch (const std::exception&) {
      // missing or corrupt: the fetcher says which and fetches it again
    }
  }
  if (!have) e = valid_entry(run_fetcher(fetcher, version));
  NativeFunctions nf = load_native_functions(e.yaml);
  if (context_value) *context_value = e.yaml;
  Book book(std::move(nf), e.version);
  TreeFacts table;  // the wheel has no MPSFallback.mm: the project's table for that version says
  table.always = always_fallback_ops(e.version, &table.always_source);
  table.always_source += " (the project's table: the wheel has no MPSFallback.mm)";
  book.set_tree(std::move(table));
  Origin o;
  o.kind = "release";
  o.file = e.yaml;
  o.id = "sha256:" + e.yaml_sha256;
  o.described = std::string(verdict::kStaticSource) + "native_functions.yaml of torch " + e.version + " (wheel " + e.wheel + " sha256 " +
                short_hex(e.sha256) + ")";
  o.linked_torch = linked.torch_version;
  book.set_origin(std::move(o));
  return book;
}

Book file_book(const std::string& path, const Linked& linked, std::string* context_value) {
  std::string bytes;
  NativeFunctions nf = explicit_yaml("--native-functions=" + path, path, &bytes);
  // A cache entry knows its torch; any other file is read as the linked torch's.
  std::string version = linked.torch_version;
  try {
    version = valid_entry(fs::path(path).parent_path()).version;
  } catch (const std::exception&) {
  }
  if (context_value) *context_value = path;
  Book book(std::move(nf), version);
  Origin o;
  o.kind = "file";
  o.file = path;
  o.id = "sha256:" + sha256_hex(bytes);
  o.described = std::string(verdict::kStaticSource) + "native_functions.yaml of torch " + version + " (" + path + " sha256 " + short_hex(o.id.substr(7)) + ")";
  o.linked_torch = linked.torch_version;
  book.set_origin(std::move(o));
  return book;
}

Book tree_book(const std::string& dir, const Linked& linked, std::string* context_value) {
  const std::string flag = "--torch-source=" + dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw SourceError(flag + ": " + (fs::exists(dir, ec) ? "not a directory" : "no such directory") +
                      " (expected a PyTorch checkout)");
  const fs::path root(dir);
  const fs::path yaml = root / "aten/src/ATen/native/native_functions.yaml";
  const fs::path fallback_mm = root / "aten/src/ATen/mps/MPSFallback.mm";
  std::string bytes;
  NativeFunctions nf = explicit_yaml(flag, yaml.string(), &bytes);
  if (!fs::is_regular_file(fallback_mm, ec))
    throw SourceError(flag + ": " + fallback_mm.string() + ": no such file (expected a PyTorch checkout)");
  std::string version = "source";
  if (fs::is_regular_file(root / "version.txt", ec)) version = trim(read_file(root / "version.txt"));
  const std::string commit = git_commit(dir);
  const std::string at = commit.empty() ? "commit unknown: no .git" : "commit " + short_hex(commit);

  TreeFacts facts;
  try {
    for (const auto& [name, line] : mps_fallback_rows(read_file(fallback_mm))) facts.always.push_back(name);
    const fs::path mps_dir = root / "aten/src/ATen/native/mps";
    if (fs::is_directory(mps_dir, ec))
      for (const auto& f : fs::recursive_directory_iterator(mps_dir, ec)) {
        const std::string ext = f.path().extension().string();
        if (!f.is_regular_file(ec) || (ext != ".mm" && ext != ".cpp" && ext != ".m" && ext != ".h")) continue;
        const std::string rel = fs::relative(f.path(), root, ec).generic_string();
        for (const auto& [name, line] : mps_registrations(read_file(f.path())))
          facts.registered.emplace(name, rel + ":" + std::to_string(line));
      }
  } catch (const std::exception& e) {
    throw SourceError(flag + ": " + e.what());
  }
  facts.always_source = "aten/src/ATen/mps/MPSFallback.mm of " + dir + " (" + at + ")";
  if (context_value) *context_value = yaml.string();
  Book book(std::move(nf), version);
  book.set_tree(std::move(facts));
  Origin o;
  o.kind = "source tree";
  o.file = yaml.string();
  o.id = commit.empty() ? "sha256:" + sha256_hex(bytes) : "commit:" + commit;
  o.described = std::string(verdict::kStaticSource) + "pytorch source tree " + dir + " (torch " + version + ", " + at + ")";
  o.linked_torch = linked.torch_version;
  book.set_origin(std::move(o));
  return book;
}

}  // namespace

Book load_book(const SourceFlags& flags, const Linked& linked, const Fetcher& fetcher, const std::string& program,
               std::string* context_value) {
  if (!flags.native_functions.empty()) return file_book(flags.native_functions, linked, context_value);
  if (!flags.torch_source.empty()) return tree_book(flags.torch_source, linked, context_value);
  if (!flags.verdict_torch.empty()) {
    try {
      return release_book(flags.verdict_torch, fetcher, linked, context_value);
    } catch (const std::exception& e) {
      if (linked.torch_version.empty() && linked.yaml.empty()) {  // mpsfb_report: no torch of its own
        std::cerr << program << ": " << flags.given() << ": " << e.what() << "; no static verdicts\n";
        if (context_value) *context_value = "not found: " + std::string(e.what());
        return Book(std::nullopt, "", verdict::kUnknownSource + std::string(e.what()));
      }
      std::cerr << program << ": " << flags.given() << ": " << e.what() << "; judging with the linked torch "
                << linked.torch_version << " instead\n";
    }
  }
  return linked_book(linked, program, context_value);
}

}  // namespace mpsfb::verdicts
