// mpsfb_coverage: the MPS coverage history (ops/mps_coverage.yaml) and verdict diffs between two
// torches. LibTorch-free. docs/coverage.md; tools/update_coverage.sh is the one command that runs it.
#include "generate.h"

#include "contract/result.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpsfb::coverage {
namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  mpsfb_coverage generate --seed=FILE --map=FILE --lists=DIR --release=ENTRY_DIR... --out=FILE\n"
    "      Judges every op of the seed and of the mapped UNIMPLEMENTED_XFAILLISTs in each release (oldest\n"
    "      first; ENTRY_DIR a torch-files cache entry: wheel.json, native_functions.yaml[, common_mps.py]) and\n"
    "      writes the coverage file. DIR/<version>.txt: the release's list (tools/coverage/unimplemented.py).\n"
    "  mpsfb_coverage diff A B [--coverage=FILE]\n"
    "      Ops fixed (falls back -> native) and regressed (native -> falls back) from A to B. A and B are two\n"
    "      native_functions.yaml files (their torch read from a wheel.json beside them, if any) or two\n"
    "      releases of the coverage file (default ops/mps_coverage.yaml), e.g. 2.13 2.15.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string command;
  std::vector<std::string> positional, releases;
  std::string seed, map, lists, out, coverage = "ops/mps_coverage.yaml";
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      a.command = "help";
      return a;
    }
    if (arg.rfind("--", 0) != 0) {
      if (a.command.empty())
        a.command = arg;
      else
        a.positional.push_back(arg);
      continue;
    }
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq + 1 == arg.size()) throw UsageError(arg + ": expected " + arg + "=VALUE");
    const std::string key = arg.substr(0, eq), value = arg.substr(eq + 1);
    if (key == "--seed")
      a.seed = value;
    else if (key == "--map")
      a.map = value;
    else if (key == "--lists")
      a.lists = value;
    else if (key == "--release")
      a.releases.push_back(value);
    else if (key == "--out")
      a.out = value;
    else if (key == "--coverage")
      a.coverage = value;
    else
      throw UsageError("unknown option " + key);
  }
  if (a.command == "generate") {
    if (a.seed.empty() || a.map.empty() || a.lists.empty() || a.out.empty() || a.releases.empty())
      throw UsageError("generate needs --seed, --map, --lists, --out and at least one --release");
    if (!a.positional.empty()) throw UsageError("generate: unexpected " + a.positional.front());
  } else if (a.command == "diff") {
    if (a.positional.size() != 2) throw UsageError("diff takes two arguments, A and B");
  } else {
    throw UsageError(a.command.empty() ? "no command (generate or diff)" : "unknown command " + a.command);
  }
  return a;
}

// All or nothing: a temporary file beside the destination, renamed over it.
void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw std::runtime_error(path + ": cannot be written");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot be replaced: " + why);
  }
}

int generate_command(const Args& a) {
  std::vector<ReleaseInput> releases;
  for (const auto& dir : a.releases) releases.push_back(read_release(dir, a.lists));
  const Coverage cov = generate(releases, read_seed(a.seed), read_opinfo_map(a.map));
  const std::string text = format_coverage(cov, coverage_header(a.seed, a.map));
  parse_coverage(text, a.out);  // what is written reads back
  write_file(a.out, text);
  size_t native = 0, falls = 0;
  for (const auto& o : cov.ops) {
    const std::string v = o.verdicts.at(cov.newest()->minor());
    native += v == verdict::kNative;
    falls += v == verdict::kFallsBack;
  }
  std::cerr << "mpsfb_coverage: " << cov.ops.size() << " ops in " << cov.releases.size() << " releases ("
            << cov.releases.front().torch << " ... " << cov.newest()->torch << "); in " << cov.newest()->torch << ": "
            << falls << " fall back, " << native << " native -> " << a.out << "\n";
  return 0;
}

// One side of a diff: its verdicts and how it is named.
struct Side {
  std::string name;
  std::map<std::string, std::string> verdicts;
};

Side side(const std::string& arg, const std::string& coverage_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(arg, ec)) {
    std::string torch;
    const fs::path json = fs::path(arg).parent_path() / "wheel.json";
    if (fs::exists(json, ec)) torch = read_release(fs::path(arg).parent_path().string(), "").release.torch;
    return {"native_functions.yaml " + arg + (torch.empty() ? " (torch unknown: no always-fallback rows)" : " (torch " + torch + ")"),
            yaml_verdicts(arg, torch)};
  }
  const Coverage cov = load_coverage(coverage_path);
  bool known = false;
  for (const auto& r : cov.releases) known = known || r.minor() == minor_of(arg);
  if (!known) throw UsageError(arg + ": neither a file nor a release of " + coverage_path);
  Side s{"torch " + minor_of(arg) + " (" + coverage_path + ")", {}};
  for (const auto& o : cov.ops) s.verdicts[o.op] = cov.verdict(o.op, arg);
  return s;
}

int diff_command(const Args& a) {
  const Side before = side(a.positional[0], a.coverage), after = side(a.positional[1], a.coverage);
  const VerdictDiff d = diff_verdicts(before.verdicts, after.verdicts);
  std::cout << "verdict diff: " << before.name << " -> " << after.name << "\n";
  std::cout << "fixed (falls back -> native): " << d.fixed.size() << "\n";
  for (const auto& op : d.fixed) std::cout << "  " << op << "\n";
  std::cout << "regressed (native -> falls back): " << d.regressed.size() << "\n";
  for (const auto& op : d.regressed) std::cout << "  " << op << "\n";
  std::cout.flush();
  if (!std::cout) throw std::runtime_error("stdout: cannot be written");
  return 0;
}

}  // namespace
}  // namespace mpsfb::coverage

int main(int argc, char** argv) {
  using namespace mpsfb::coverage;
  try {
    const Args a = parse_args(argc, argv);
    if (a.command == "help") {
      std::cout << kUsage;
      return 0;
    }
    return a.command == "generate" ? generate_command(a) : diff_command(a);
  } catch (const UsageError& e) {
    std::cerr << "mpsfb_coverage: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mpsfb_coverage: " << e.what() << "\n";
    return 2;
  }
}
