// The verdict source (contract/verdict_source.h), LibTorch-free: the flags, the scanner of
// TORCH_LIBRARY_IMPL blocks, a source tree's commit without git, the cache entry of a release
// (valid, corrupt, missing with a fetcher that fails) and the explicit sources that are flag errors.
#include "contract/verdict_source.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using namespace mpsfb;
using verdicts::Book;
using verdicts::Static;

constexpr const char* kYaml = R"(- func: roll(Tensor self, SymInt[1] shifts, int[1] dims=[]) -> Tensor
  dispatch:
    CPU, MPS: roll
- func: take(Tensor self, Tensor index) -> Tensor
  dispatch:
    CPU, CUDA: take
- func: col2im(Tensor self) -> Tensor
  dispatch:
    CPU: col2im_cpu
- func: embedding_renorm_(Tensor(a!) self, Tensor indices, float max_norm, float norm_type) -> Tensor(a!)
  dispatch:
    CPU: embedding_renorm_cpu_
- func: linalg_eig(Tensor self) -> (Tensor eigenvalues, Tensor eigenvectors)
  dispatch:
    CPU, CUDA: linalg_eig
- func: pool3d(Tensor self) -> Tensor
)";

// The shape of pytorch's aten/src/ATen/mps/MPSFallback.mm: a boxed fallback for every op, then
// the always-fallback rows of the aten block (one commented out, one that is not the fallback).
constexpr const char* kFallbackMm = R"(static void mps_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {}
TORCH_LIBRARY_IMPL(_, MPS, m) {
  m.fallback(torch::CppFunction::makeFromBoxedFunction<&mps_fallback>());
}

TORCH_LIBRARY_IMPL(aten, MPS, m) {
  // These ops are not supported via MPS backend currently, and we fallback to run on CPU.
  m.impl("embedding_renorm_", torch::CppFunction::makeFromBoxedFunction<&mps_fallback>());
  // m.impl("linalg_svd", torch::CppFunction::makeFromBoxedFunction<&mps_fallback>());
  m.impl("take",
         torch::CppFunction::makeFromBoxedFunction<&mps_fallback>());
  m.impl("_slow_conv2d_forward", slow_conv2d_forward_mps);
  /* m.impl("col2im", torch::CppFunction::makeFromBoxedFunction<&mps_fallback>()); */
  m.impl("upsample.vec", torch::CppFunction::makeFromBoxedFunction<&mps_error_fallback>());
}
)";

// An MPS source registering kernels outside the yaml, beside blocks for other keys.
constexpr const char* kLinalgMm = R"(
TORCH_LIBRARY_IMPL(aten, CPU, m) { m.impl("linalg_eig", cpu_only); }
TORCH_LIBRARY_IMPL(aten, MPS, lib) {
  lib.impl("linalg_eig", TORCH_FN(linalg_eig_mps));
  lib.impl(TORCH_SELECTIVE_NAME("aten::pool3d"), TORCH_FN(pool3d_mps)); const char* s = "}";
  lib.impl("linalg_eig.out", TORCH_FN(linalg_eig_out_mps));
}
TORCH_LIBRARY_IMPL(aten, MPS, m) {
  m.impl("_fft_r2c", TORCH_FN(fft_r2c_mps));
}
)";

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "verdict_source_test.XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
};

// std::cerr while `f` runs.
template <class F>
std::string stderr_of(F&& f) {
  std::stringstream captured;
  auto* old = std::cerr.rdbuf(captured.rdbuf());
  try {
    f();
  } catch (...) {
    std::cerr.rdbuf(old);
    throw;
  }
  std::cerr.rdbuf(old);
  return captured.str();
}

struct CacheEnv {  // MPSFB_CACHE_DIR for one test
  explicit CacheEnv(const fs::path& p) { setenv("MPSFB_CACHE_DIR", p.c_str(), 1); }
  ~CacheEnv() { unsetenv("MPSFB_CACHE_DIR"); }
};

verdicts::Linked linked_213(const fs::path& dir) {
  write(dir / "linked" / "native_functions.yaml", kYaml);
  return {"2.13.0", (dir / "linked" / "native_functions.yaml").string(), ""};
}

// A cache entry the way tools/fetch_torch_files.py writes it.
fs::path write_entry(const fs::path& root, const std::string& version, const std::string& yaml) {
  const fs::path e = root / "torch" / version;
  write(e / "native_functions.yaml", yaml);
  write(e / "wheel.json", "{\"version\": \"" + version + "\", \"wheel\": \"torch-" + version +
                              "-cp312-cp312-macosx_14_0_arm64.whl\", \"sha256\": \"" + std::string(64, 'a') +
                              "\", \"files\": {\"native_functions.yaml\": \"" + verdicts::sha256_hex(yaml) + "\"}}\n");
  return e;
}

TEST(VerdictSource, Sha256MatchesTheStandardVectors) {
  EXPECT_EQ(verdicts::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(verdicts::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(verdicts::sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(VerdictSource, FlagsTakeOneSourceAndReleaseShapedVersions) {
  verdicts::SourceFlags f;
  EXPECT_FALSE(verdicts::take_source_flag("--targets", "x", f));
  EXPECT_TRUE(verdicts::take_source_flag("--verdict-torch", "2.15.0", f));
  EXPECT_EQ(f.given(), "--verdict-torch=2.15.0");
  try {
    verdicts::take_source_flag("--torch-source", "/src/pytorch", f);
    FAIL() << "two sources";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "--torch-source=/src/pytorch: the verdicts come from one source, and "
                           "--verdict-torch=2.15.0 names one already (--verdict-torch, --native-functions or "
                           "--torch-source)");
  }
  for (const std::string bad : {"../x", "x2.15", "2.15/0", ""}) {
    verdicts::SourceFlags g;
    EXPECT_THROW(verdicts::take_source_flag("--verdict-torch", bad, g), std::invalid_argument) << bad;
  }
  verdicts::SourceFlags g;
  EXPECT_TRUE(verdicts::take_source_flag("--verdict-torch", "latest", g));
  verdicts::SourceFlags h;
  EXPECT_TRUE(verdicts::take_source_flag("--verdict-torch", "2.16.0.dev20261101", h));
}

TEST(VerdictSource, ScannerReadsTheAlwaysFallbackRowsOfMpsFallbackMm) {
  const auto rows = verdicts::mps_fallback_rows(kFallbackMm);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::pair<std::string, int>{"embedding_renorm_", 8}));
  EXPECT_EQ(rows[1], (std::pair<std::string, int>{"take", 10}));
}

TEST(VerdictSource, ScannerReadsMpsRegistrationsOnly) {
  const auto rows = verdicts::mps_registrations(kLinalgMm);
  std::vector<std::string> names;
  for (const auto& [name, line] : rows) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"linalg_eig", "pool3d", "linalg_eig.out", "_fft_r2c"}));
  EXPECT_EQ(rows[0].second, 4);
  EXPECT_EQ(rows[3].second, 9);
  // Unbalanced or truncated text is read as far as it goes, never past its end.
  EXPECT_TRUE(verdicts::mps_registrations("TORCH_LIBRARY_IMPL(aten, MPS, m) { m.impl(\"x\"").empty());
  EXPECT_TRUE(verdicts::mps_registrations("TORCH_LIBRARY_IMPL(aten, MPS").empty());
  EXPECT_TRUE(verdicts::mps_registrations("\"unterminated /* TORCH_LIBRARY_IMPL(aten, MPS, m) {").empty());
}

TEST(VerdictSource, CommitFromGitWithoutGit) {
  TempDir t;
  const std::string a(40, 'a'), b(40, 'b'), c(40, 'c');
  write(t.path / "loose/.git/HEAD", "ref: refs/heads/main\n");
  write(t.path / "loose/.git/refs/heads/main", a + "\n");
  EXPECT_EQ(verdicts::git_commit((t.path / "loose").string()), a);
  write(t.path / "packed/.git/HEAD", "ref: refs/heads/viable/strict\n");
  write(t.path / "packed/.git/packed-refs", "# pack-refs with: peeled fully-peeled sorted\n" + c +
                                                " refs/heads/other\n" + b + " refs/heads/viable/strict\n");
  EXPECT_EQ(verdicts::git_commit((t.path / "packed").string()), b);
  write(t.path / "detached/.git/HEAD", c + "\n");
  EXPECT_EQ(verdicts::git_commit((t.path / "detached").string()), c);
  // A worktree: .git is a file naming its git dir, whose commondir holds the refs.
  write(t.path / "main/.git/worktrees/wt/HEAD", "ref: refs/heads/feature\n");
  write(t.path / "main/.git/worktrees/wt/commondir", "../..\n");
  write(t.path / "main/.git/refs/heads/feature", a + "\n");
  write(t.path / "wt/.git", "gitdir: " + (t.path / "main/.git/worktrees/wt").string() + "\n");
  EXPECT_EQ(verdicts::git_commit((t.path / "wt").string()), a);
  EXPECT_EQ(verdicts::git_commit((t.path / "none").string()), "");
}

TEST(VerdictSource, SourceTreeReadsItsYamlFallbackListAndRegistrations) {
  TempDir t;
  const fs::path src = t.path / "pytorch";
  write(src / "aten/src/ATen/native/native_functions.yaml", kYaml);
  write(src / "aten/src/ATen/mps/MPSFallback.mm", kFallbackMm);
  write(src / "aten/src/ATen/native/mps/operations/Linalg.mm", kLinalgMm);
  write(src / "version.txt", "2.16.0a0\n");
  write(src / ".git/HEAD", "ref: refs/heads/main\n");
  write(src / ".git/refs/heads/main", "0123456789abcdef0123456789abcdef01234567\n");
  verdicts::SourceFlags f;
  f.torch_source = src.string();
  std::string context;
  const Book book = verdicts::load_book(f, linked_213(t.path), {}, "test", &context);
  EXPECT_EQ(book.torch_version(), "2.16.0a0");
  EXPECT_EQ(context, (src / "aten/src/ATen/native/native_functions.yaml").string());
  EXPECT_EQ(book.origin().id, "commit:0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(book.yaml_source(), "static: pytorch source tree " + src.string() + " at commit 0123456789ab (torch 2.16.0a0)");
  std::string why;
  // take: in the yaml without MPS, but the tree's MPSFallback.mm registers it: always falls back.
  EXPECT_EQ(book.classify("aten::take", &why), Static::kFallsBack);
  EXPECT_EQ(why, "static: always falls back, registered in aten/src/ATen/mps/MPSFallback.mm of " + src.string() +
                     " at commit 0123456789ab");
  // col2im: commented out in the tree's MPSFallback.mm: the yaml's rule decides, not a registration.
  EXPECT_EQ(book.classify("aten::col2im", &why), Static::kFallsBack);
  EXPECT_EQ(why, book.yaml_source());
  // linalg_eig: CPU, CUDA in the yaml, registered for MPS in the MPS sources: native.
  EXPECT_EQ(book.classify("aten::linalg_eig", &why), Static::kNative);
  EXPECT_EQ(why, "static: MPS kernel registered in aten/src/ATen/native/mps/operations/Linalg.mm:4 (" +
                     book.yaml_source() + ")");
  EXPECT_EQ(book.classify("aten::pool3d"), Static::kNative);
  // A composite's leaves come from the linked torch: the source says so.
  const verdicts::CallGraph calls = {{"aten::comp", {"aten::roll"}}};
  verdicts::Book plain(verdicts::parse_native_functions("- func: comp(Tensor self) -> Tensor\n- func: roll(Tensor self) -> Tensor\n  dispatch:\n    MPS: roll\n", "x"), "2.16.0a0");
  verdicts::Origin o = book.origin();
  plain.set_origin(o);
  const auto v = plain.judge("aten::comp", "f32", &calls);
  EXPECT_EQ(v.source, book.yaml_source() + " (composite judged by the leaves torch 2.13.0 (linked) runs)");
}

TEST(VerdictSource, SourceTreeThatCannotBeUsedIsAFlagError) {
  TempDir t;
  verdicts::SourceFlags f;
  f.torch_source = (t.path / "nope").string();
  try {
    verdicts::load_book(f, linked_213(t.path), {}, "test", nullptr);
    FAIL();
  } catch (const verdicts::SourceError& e) {
    EXPECT_EQ(std::string(e.what()), "--torch-source=" + f.torch_source + ": no such directory (expected a PyTorch checkout)");
  }
  write(t.path / "half/aten/src/ATen/native/native_functions.yaml", kYaml);
  f.torch_source = (t.path / "half").string();
  try {
    verdicts::load_book(f, linked_213(t.path), {}, "test", nullptr);
    FAIL();
  } catch (const verdicts::SourceError& e) {
    EXPECT_EQ(std::string(e.what()), "--torch-source=" + f.torch_source + ": " + f.torch_source +
                                         "/aten/src/ATen/mps/MPSFallback.mm: no such file (expected a PyTorch checkout)");
  }
}

TEST(VerdictSource, ExplicitNativeFunctionsThatCannotBeUsedIsAFlagError) {
  TempDir t;
  write(t.path / "targets.yaml", "ops:\n  - op: aten::roll\n");
  write(t.path / "empty.yaml", "");
  ASSERT_EQ(mkfifo((t.path / "fifo").c_str(), 0600), 0);
  fs::create_directories(t.path / "dir");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"missing.yaml", "no such file"},
      {"fifo", "not a regular file"},
      {"dir", "not a regular file"},
      {"targets.yaml", "not a native_functions.yaml"},
      {"empty.yaml", "not a native_functions.yaml"}};
  for (const auto& [name, why] : cases) {
    verdicts::SourceFlags f;
    f.native_functions = (t.path / name).string();
    try {
      verdicts::load_book(f, linked_213(t.path), {}, "test", nullptr);
      ADD_FAILURE() << name;
    } catch (const verdicts::SourceError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("--native-functions=" + f.native_functions + ": ", 0), 0u) << msg;
      EXPECT_NE(msg.find(why), std::string::npos) << msg;
    }
  }
}

TEST(VerdictSource, NativeFunctionsFileNamesItsSha) {
  TempDir t;
  write(t.path / "nf.yaml", kYaml);
  verdicts::SourceFlags f;
  f.native_functions = (t.path / "nf.yaml").string();
  const Book book = verdicts::load_book(f, linked_213(t.path), {}, "test", nullptr);
  EXPECT_EQ(book.torch_version(), "2.13.0");
  EXPECT_EQ(book.origin().id, "sha256:" + verdicts::sha256_hex(kYaml));
  EXPECT_EQ(book.yaml_source(), "static: " + f.native_functions + " (sha256 " + verdicts::sha256_hex(kYaml).substr(0, 12) +
                                    ", as torch 2.13.0)");
}

TEST(VerdictSource, ReleaseFromTheCacheRunsNoFetcher) {
  TempDir t;
  CacheEnv env(t.path / "cache");
  write_entry(t.path / "cache", "2.15.0", kYaml);
  verdicts::SourceFlags f;
  f.verdict_torch = "2.15.0";
  std::string context;
  const verdicts::Fetcher none{"/nonexistent/python", "/nonexistent/fetch.py"};
  Book book(std::nullopt, "");
  const std::string err = stderr_of([&] { book = verdicts::load_book(f, linked_213(t.path), none, "test", &context); });
  EXPECT_EQ(err, "");
  EXPECT_EQ(book.torch_version(), "2.15.0");
  EXPECT_EQ(context, (t.path / "cache/torch/2.15.0/native_functions.yaml").string());
  EXPECT_EQ(book.yaml_source(), "static: native_functions.yaml of torch 2.15.0 (wheel "
                                "torch-2.15.0-cp312-cp312-macosx_14_0_arm64.whl sha256 aaaaaaaaaaaa)");
  std::string why;
  EXPECT_EQ(book.classify("aten::embedding_renorm_", &why), Static::kFallsBack);
  EXPECT_EQ(why, "static: always falls back, registered in MPSFallback.mm of pytorch main (2026) (the project's "
                 "table: the wheel has no MPSFallback.mm)");
}

TEST(VerdictSource, ReleaseThatCannotBeFetchedFallsBackToTheLinkedTorchSayingWhy) {
  TempDir t;
  CacheEnv env(t.path / "cache");
  const fs::path e = write_entry(t.path / "cache", "2.15.0", kYaml);
  write(e / "native_functions.yaml", "- func: edited() -> Tensor\n");  // corrupt: the fetcher is asked
  // A fetcher that shows progress, notes and fails the way fetch_torch_files.py does.
  write(t.path / "fetch.sh", "echo 'progress 10%' >&2\necho 'fetch_torch_files: a note' >&2\n"
                             "echo \"$@\" > " + (t.path / "args").string() + "\n"
                             "echo 'fetch_torch_files: pip download torch==2.15.0 failed (exit 1): ERROR: no network' >&2\n"
                             "exit 1\n");
  verdicts::SourceFlags f;
  f.verdict_torch = "2.15.0";
  std::string context;
  Book book(std::nullopt, "");
  const std::string err = stderr_of(
      [&] { book = verdicts::load_book(f, linked_213(t.path), {"/bin/sh", (t.path / "fetch.sh").string()}, "mps_benchmarks", &context); });
  EXPECT_EQ(err, "progress 10%\nfetch_torch_files: a note\nmps_benchmarks: --verdict-torch=2.15.0: pip download "
                 "torch==2.15.0 failed (exit 1): ERROR: no network; judging with the linked torch 2.13.0 instead\n");
  std::ifstream args(t.path / "args");
  std::string line;
  std::getline(args, line);
  EXPECT_EQ(line, "--version 2.15.0");
  EXPECT_EQ(book.torch_version(), "2.13.0");
  EXPECT_EQ(book.yaml_source(), "static: native_functions.yaml of torch 2.13.0");
  EXPECT_EQ(context, (t.path / "linked/native_functions.yaml").string());
}

TEST(VerdictSource, ReleaseFetchedPrintsTheEntryAndIsRead) {
  TempDir t;
  CacheEnv env(t.path / "cache");
  const fs::path e = write_entry(t.path / "staged", "2.15.0", kYaml);  // what the fetcher will have written
  write(t.path / "fetch.sh", "echo 'Saved torch' >&2\necho " + e.string() + "\n");
  verdicts::SourceFlags f;
  f.verdict_torch = "latest";
  Book book(std::nullopt, "");
  const std::string err = stderr_of(
      [&] { book = verdicts::load_book(f, linked_213(t.path), {"/bin/sh", (t.path / "fetch.sh").string()}, "test", nullptr); });
  EXPECT_EQ(err, "Saved torch\n");
  EXPECT_EQ(book.torch_version(), "2.15.0");
  // A fetcher that cannot run at all: one line, the linked torch.
  const std::string err2 = stderr_of(
      [&] { book = verdicts::load_book(f, linked_213(t.path), {"/bin/sh", (t.path / "missing.py").string()}, "test", nullptr); });
  EXPECT_EQ(err2, "test: --verdict-torch=latest: " + (t.path / "missing.py").string() +
                      ": no such file (the fetcher); judging with the linked torch 2.13.0 instead\n");
}

TEST(VerdictSource, NoYamlAnywhereIsUnknownVerdictsNotAnError) {
  verdicts::SourceFlags f;
  std::string context;
  Book book(std::nullopt, "");
  const std::string err = stderr_of([&] {
    book = verdicts::load_book(f, {"2.13.0", "", "no torchgen beside libtorch"}, {}, "mps_benchmarks", &context);
  });
  EXPECT_EQ(err, "mps_benchmarks: no MPS verdicts: no torchgen beside libtorch; the run goes on, every verdict is unknown\n");
  EXPECT_EQ(context, "not found: no torchgen beside libtorch");
  EXPECT_FALSE(book.has_yaml());
}

}  // namespace
