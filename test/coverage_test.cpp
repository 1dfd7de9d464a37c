// The coverage history: the generator on three fake releases (an op going native, one
// regressing, a composite judged by its recorded leaves, an op new in a later release), the
// verdict diff between two yamls or two releases, and the loader's errors (file:line).
#include "contract/coverage.h"
#include "contract/result.h"
#include "contract/verdict_source.h"
#include "generate.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

namespace {

using namespace mpsfb;
using namespace mpsfb::coverage;
namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string yaml_entry(const std::string& name, const std::string& keys) {
  return "- func: " + name + "(Tensor self) -> Tensor\n" + (keys.empty() ? "" : "  dispatch:\n    " + keys + ": k\n");
}

// Three releases. foo goes native in 2.3, bar regresses in 2.3, baz is native throughout, comp
// is a composite whose recorded leaf goes native in 2.2, newop appears in 2.2, flip regresses in
// 2.2 and comes back in 2.3; 2.1 has no common_mps.py.
struct FakeReleases {
  // One folder per test: ctest runs the tests of this file in parallel processes.
  fs::path root = fs::temp_directory_path() /
                  (std::string("mpsfb_coverage_test.") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::vector<std::string> dirs;
  FakeReleases() {
    fs::remove_all(root);
    const char* foo[] = {"CPU", "CPU", "CPU, MPS"};
    const char* bar[] = {"CPU, MPS", "CPU, MPS", "CPU"};
    const char* leaf[] = {"CPU", "CPU, MPS", "CPU, MPS"};
    const char* flip[] = {"CPU, MPS", "CPU", "CPU, MPS"};
    for (int i = 0; i < 3; ++i) {
      const std::string v = "2." + std::to_string(i + 1) + ".0";
      const fs::path dir = root / "cache" / v;
      std::string yaml = yaml_entry("foo", foo[i]) + yaml_entry("bar", bar[i]) + yaml_entry("baz", "CPU, MPS") +
                         yaml_entry("comp", "CompositeImplicitAutograd") + yaml_entry("leaf", leaf[i]) +
                         yaml_entry("flip", flip[i]) + yaml_entry("qux", "CPU");
      if (i > 0) yaml += yaml_entry("newop", "MPS");
      write(dir / "native_functions.yaml", yaml);
      const std::string common_mps = "UNIMPLEMENTED_XFAILLIST = {}\n";
      if (i > 0) write(dir / "common_mps.py", common_mps);
      write(dir / "wheel.json", "{\"version\": \"" + v + "\", \"wheel\": \"torch-" + v + "-x.whl\", \"sha256\": \"aa" +
                                    std::to_string(i) + "\", \"files\": {\"native_functions.yaml\": \"" +
                                    verdicts::sha256_hex(yaml) + "\"" +
                                    (i > 0 ? ", \"common_mps.py\": \"" + verdicts::sha256_hex(common_mps) + "\"" : "") +
                                    "}}\n");
      if (i > 0) write(root / "lists" / (v + ".txt"), i == 1 ? "foo_info\nlinalg.gone\n" : "foo_info\n");
      dirs.push_back(dir.string());
    }
    write(root / "seed.yaml",
          "version: 1\nops:\n"
          "  - op: aten::foo\n    demand: {votes: 3}\n"
          "  - op: aten::bar\n    demand: {votes: 0}\n"
          "  - op: aten::baz\n"
          "  - op: aten::comp\n    mps_verdict: {torch: 2.1.0, verdict: falls back, via: ['aten::leaf'], source: x}\n"
          "  - op: aten::newop\n"
          "  - op: aten::flip\n");
    write(root / "map.yaml",
          "entries:\n"
          "  - opinfo: foo_info\n    aten: [aten::foo, aten::qux]\n"
          "  - opinfo: linalg.gone\n    why_not: \"no such op\"\n");
  }
  Coverage make() const {
    std::vector<ReleaseInput> in;
    for (const auto& d : dirs) in.push_back(read_release(d, (root / "lists").string()));
    return generate(in, read_seed((root / "seed.yaml").string()), read_opinfo_map((root / "map.yaml").string()));
  }
};

std::map<std::string, std::string> verdicts_of(std::initializer_list<const char*> three) {
  std::map<std::string, std::string> m;
  int i = 1;
  for (const char* v : three) m["2." + std::to_string(i++)] = v;
  return m;
}

TEST(CoverageGenerate, JudgesEveryReleaseWithItsOwnYaml) {
  const Coverage cov = FakeReleases().make();
  ASSERT_EQ(cov.releases.size(), 3u);
  EXPECT_EQ(cov.releases[2].sha256, "aa2");
  EXPECT_EQ(cov.releases[1].files.at("common_mps.py"), verdicts::sha256_hex("UNIMPLEMENTED_XFAILLIST = {}\n"));
  const std::string N = verdict::kNative, F = verdict::kFallsBack, U = verdict::kUnknown;
  EXPECT_EQ(cov.find("aten::foo")->verdicts, verdicts_of({F.c_str(), F.c_str(), N.c_str()}));
  EXPECT_EQ(cov.native_since("aten::foo"), "2.3");
  EXPECT_EQ(cov.find("aten::bar")->verdicts, verdicts_of({N.c_str(), N.c_str(), F.c_str()}));
  EXPECT_EQ(cov.native_since("aten::bar"), std::nullopt);  // regressed: not native in the newest
  EXPECT_EQ(cov.native_since("aten::baz"), "2.1");         // native in the oldest judged
  EXPECT_EQ(cov.find("aten::comp")->verdicts, verdicts_of({F.c_str(), N.c_str(), N.c_str()}));
  EXPECT_EQ(cov.native_since("aten::comp"), "2.2");        // by its recorded leaf
  EXPECT_EQ(cov.find("aten::newop")->verdicts, verdicts_of({U.c_str(), N.c_str(), N.c_str()}));
  EXPECT_EQ(cov.native_since("aten::newop"), "2.2");
  EXPECT_EQ(cov.native_since("aten::flip"), "2.3");        // native again: from its last return
}

TEST(CoverageGenerate, AddsTheMappedListsAndRecordsWhereListed) {
  const Coverage cov = FakeReleases().make();
  ASSERT_EQ(cov.ops.size(), 7u);  // the six seed ops, then qux from the map
  EXPECT_EQ(cov.ops.back().op, "aten::qux");
  EXPECT_EQ(cov.find("aten::qux")->listed, (std::vector<std::string>{"2.2", "2.3"}));
  EXPECT_EQ(cov.find("aten::foo")->listed, (std::vector<std::string>{"2.2", "2.3"}));
  EXPECT_TRUE(cov.find("aten::foo")->requested);
  EXPECT_FALSE(cov.find("aten::bar")->requested);
  EXPECT_EQ(cov.find("aten::comp")->via, (std::vector<std::string>{"aten::leaf"}));
}

TEST(CoverageGenerate, AnUnmappedOpInfoNameIsAnErrorNamingTheRelease) {
  FakeReleases f;
  write(f.root / "lists" / "2.3.0.txt", "foo_info\nnew_info\n");
  try {
    f.make();
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("map.yaml: no entry for OpInfo 'new_info', which torch 2.3.0 lists"),
              std::string::npos)
        << e.what();
  }
}

TEST(CoverageGenerate, AMissingListForAReleaseWithCommonMpsIsAnError) {
  FakeReleases f;
  fs::remove(f.root / "lists" / "2.2.0.txt");
  EXPECT_THROW(f.make(), std::runtime_error);
}

TEST(CoverageGenerate, ACorruptCacheEntryIsAnErrorNamingTheFile) {
  FakeReleases f;
  write(fs::path(f.dirs[1]) / "native_functions.yaml", yaml_entry("foo", "CPU, MPS"));
  try {
    f.make();
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("2.2.0/native_functions.yaml: its sha256 is not the one"), std::string::npos)
        << e.what();
  }
}

TEST(CoverageFormat, WhatIsWrittenReadsBack) {
  const Coverage cov = FakeReleases().make();
  const std::string text = format_coverage(cov, coverage_header("seed.yaml", "map.yaml"));
  const Coverage back = parse_coverage(text, "cov.yaml");
  ASSERT_EQ(back.ops.size(), cov.ops.size());
  for (size_t i = 0; i < cov.ops.size(); ++i) {
    EXPECT_EQ(back.ops[i].op, cov.ops[i].op);
    EXPECT_EQ(back.ops[i].verdicts, cov.ops[i].verdicts);
    EXPECT_EQ(back.ops[i].native_since, cov.ops[i].native_since);
    EXPECT_EQ(back.ops[i].listed, cov.ops[i].listed);
    EXPECT_EQ(back.ops[i].via, cov.ops[i].via);
    EXPECT_EQ(back.ops[i].requested, cov.ops[i].requested);
  }
  EXPECT_EQ(back.releases[0].wheel, "torch-2.1.0-x.whl");
  EXPECT_EQ(back.verdict("aten::foo", "2.3.0"), verdict::kNative);
  EXPECT_EQ(back.verdict("aten::nothing", "2.3"), "");
}

TEST(CoverageDiff, FixedAndRegressed) {
  const Coverage cov = FakeReleases().make();
  std::map<std::string, std::string> a, b;
  for (const auto& o : cov.ops) a[o.op] = o.verdicts.at("2.1"), b[o.op] = o.verdicts.at("2.3");
  const VerdictDiff d = diff_verdicts(a, b);
  EXPECT_EQ(d.fixed, (std::vector<std::string>{"aten::comp", "aten::foo"}));
  EXPECT_EQ(d.regressed, (std::vector<std::string>{"aten::bar"}));  // newop: unknown before, in neither
}

TEST(CoverageDiff, TwoYamls) {
  FakeReleases f;
  const auto a = yaml_verdicts(f.dirs[0] + "/native_functions.yaml", "2.1.0");
  const auto b = yaml_verdicts(f.dirs[2] + "/native_functions.yaml", "2.3.0");
  const VerdictDiff d = diff_verdicts(a, b);
  EXPECT_EQ(d.fixed, (std::vector<std::string>{"aten::foo", "aten::leaf"}));  // comp: a composite, left out
  EXPECT_EQ(d.regressed, (std::vector<std::string>{"aten::bar"}));
}

// Loader errors: each names the file and the line.
std::string load_error(const std::string& text) {
  try {
    parse_coverage(text, "cov.yaml");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

constexpr const char* kReleases =
    "releases:\n  - {torch: \"2.1.0\", wheel: w, sha256: s}\n  - {torch: \"2.2.0\", wheel: w, sha256: s}\nops:\n";

TEST(CoverageLoad, ErrorsNameFileAndLine) {
  const std::string r = kReleases;
  const std::pair<std::string, std::string> kCases[] = {
      {r + "  - op: aten::a\n    verdicts: {\"2.1\": native, \"2.2\": native}\n    native_since: \"2.1\"\n    votes: 3\n",
       "cov.yaml:8: unknown key 'votes' in an ops entry"},
      {r + "  - op: aten::a\n    verdicts: {\"2.1\": native, \"2.2\": fine}\n    native_since: null\n",
       "cov.yaml:6: aten::a: verdict 'fine' (expected native, falls back, unsupported dtype or unknown)"},
      {r + "  - op: aten::a\n    verdicts: {\"2.1\": falls back, \"2.2\": native}\n    native_since: \"2.1\"\n",
       "cov.yaml:7: aten::a: native_since 2.1 disagrees with its verdicts (they say 2.2)"},
      {r + "  - op: aten::a\n    verdicts: {\"2.9\": native}\n    native_since: null\n",
       "cov.yaml:6: aten::a: verdict for 2.9, which releases: does not list"},
      {r + "  - op: aten::a\n    verdicts: {}\n    native_since: null\n  - op: aten::a\n    verdicts: {}\n    native_since: null\n",
       "cov.yaml:8: aten::a is listed twice"},
      {"releases: []\nops: []\n", "cov.yaml:1: releases: is not a non-empty list"},
      {"ops: [\n", "cov.yaml:2: not valid YAML: end of sequence flow not found"},
  };
  for (const auto& [text, error] : kCases) EXPECT_EQ(load_error(text), error) << text;
}

TEST(CoverageLoad, AMissingFileIsNamed) {
  try {
    load_coverage("/nonexistent/mps_coverage.yaml");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/nonexistent/mps_coverage.yaml: ", 0), 0u) << e.what();
  }
}

// The binary, as tools/update_coverage.sh runs it: generate, then diff two releases of the file.
struct Ran {
  int rc;
  std::string output;
};
Ran run(const std::string& args) {
  FILE* p = popen((std::string(MPSFB_COVERAGE_BIN) + " " + args + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (p && fgets(buf.data(), buf.size(), p)) out += buf.data();
  const int status = p ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(CoverageBinary, GenerateThenDiffTwoReleases) {
  FakeReleases f;
  const fs::path out = f.root / "cov.yaml";
  std::string args = "generate --seed=" + (f.root / "seed.yaml").string() + " --map=" + (f.root / "map.yaml").string() +
                     " --lists=" + (f.root / "lists").string() + " --out=" + out.string();
  for (const auto& d : f.dirs) args += " --release=" + d;
  const Ran g = run(args);
  ASSERT_EQ(g.rc, 0) << g.output;
  EXPECT_NE(g.output.find("7 ops in 3 releases (2.1.0 ... 2.3.0); in 2.3.0: 2 fall back, 5 native"), std::string::npos)
      << g.output;
  EXPECT_EQ(load_coverage(out.string()).native_since("aten::foo"), "2.3");
  const Ran d = run("diff 2.1 2.3 --coverage=" + out.string());
  ASSERT_EQ(d.rc, 0) << d.output;
  EXPECT_NE(d.output.find("fixed (falls back -> native): 2\n  aten::comp\n  aten::foo\n"
                          "regressed (native -> falls back): 1\n  aten::bar\n"),
            std::string::npos)
      << d.output;
  const Ran y = run("diff " + f.dirs[0] + "/native_functions.yaml " + f.dirs[2] + "/native_functions.yaml");
  ASSERT_EQ(y.rc, 0) << y.output;
  EXPECT_NE(y.output.find("(torch 2.3.0)"), std::string::npos) << y.output;
  EXPECT_NE(y.output.find("fixed (falls back -> native): 2\n  aten::foo\n  aten::leaf\n"), std::string::npos) << y.output;
}

TEST(CoverageBinary, BadInputIsOneLineAndExit2WithNothingWritten) {
  FakeReleases f;
  const fs::path out = f.root / "cov.yaml";
  write(f.root / "map.yaml", "entries:\n  - opinfo: foo_info\n");
  std::string args = "generate --seed=" + (f.root / "seed.yaml").string() + " --map=" + (f.root / "map.yaml").string() +
                     " --lists=" + (f.root / "lists").string() + " --out=" + out.string() + " --release=" + f.dirs[1];
  const Ran g = run(args);
  EXPECT_EQ(g.rc, 2);
  EXPECT_NE(g.output.find("map.yaml:2: foo_info: neither aten: nor why_not:"), std::string::npos) << g.output;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(run("diff 2.1 2.9 --coverage=" + out.string()).rc, 2);
  EXPECT_EQ(run("diff 2.1").rc, 2);
}

// The committed data: the seed leads with the requested ops that still fall back in the newest
// release of ops/mps_coverage.yaml, by votes, and every seed op is in that file.
TEST(CommittedSeed, LeadsWithTheRequestedOpsThatStillFallBackInTheNewestRelease) {
  const std::string root = MPSFB_SOURCE_DIR;
  const Coverage cov = load_coverage(root + "/ops/mps_coverage.yaml");
  const std::string newest = cov.newest()->minor();
  const std::vector<SeedOp> seed = read_seed(root + "/ops/targets.seed.yaml");
  const YAML::Node doc = YAML::LoadFile(root + "/ops/targets.seed.yaml");
  auto votes = [&](size_t i) {
    const YAML::Node d = doc["ops"][i]["demand"];
    return d && d["votes"] ? d["votes"].as<int>() : 0;
  };
  auto requested_fallback = [&](size_t i) {
    return votes(i) > 0 && cov.verdict(seed[i].op, newest) == verdict::kFallsBack;
  };
  size_t lead = 0;
  while (lead < seed.size() && requested_fallback(lead)) ++lead;
  EXPECT_GE(lead, 10u) << "the seed's lead in torch " << newest;
  for (size_t i = 0; i < seed.size(); ++i) {
    EXPECT_NE(cov.find(seed[i].op), nullptr) << seed[i].op << " is not in ops/mps_coverage.yaml: regenerate it";
    if (i > 0 && i < lead) {
      EXPECT_GE(votes(i - 1), votes(i)) << seed[i].op << ": the lead is ranked by votes";
    }
    if (i >= lead) {
      EXPECT_FALSE(requested_fallback(i)) << seed[i].op << " falls back in " << newest << " but is not in the lead";
    }
  }
}

}  // namespace
