// The targets loader: a good file decodes to plain structs; each kind of bad input is
// reported with file:line:column and the expected form, all problems at once.
#include "op_fixture.h"
#include "paths.h"
#include "suite.h"
#include "targets.h"

#include <gtest/gtest.h>

#include <climits>
#include <filesystem>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace mpsfb {
namespace {

// Every problem of `text`, as the loader reports them (with the real dispatcher checker).
std::vector<std::string> problems_of(const std::string& text, const LoadOptions& options = {}) {
  try {
    parse_targets(text, "t.yaml", options, make_op_checker());
  } catch (const TargetsError& e) {
    return e.problems();
  }
  return {};
}

::testing::AssertionResult has_problem(const std::vector<std::string>& problems, const std::string& where,
                                       const std::string& what) {
  for (const auto& p : problems)
    if (p.rfind(where, 0) == 0 && p.find(what) != std::string::npos) return ::testing::AssertionSuccess();
  std::string all;
  for (const auto& p : problems) all += "\n  " + p;
  return ::testing::AssertionFailure() << "no problem at '" << where << "' containing '" << what << "'; got:" << all;
}

TEST(Targets, GoodFileDecodesToPlainStructs) {
  const auto t = parse_targets(R"(version: 1
generated: {date: '2026-11-23', anything: [goes, here]}
ops:
  - op: aten::roll
    shapes: [[64, 3, 256, 256], 8x1024, scalar]
    dtypes: [f32, half, i64]
    demand:
      votes: 12
      users: 5
      thumbs_up: 7
      links: [https://github.com/pytorch/pytorch/issues/141287#issuecomment-1]
  - op: aten::isin.Tensor_Tensor
    shapes: [[4096]]
    dtypes: [i64]
    emulate: [aten::isin.Tensor_Tensor]
)",
                               "t.yaml", {}, make_op_checker());
  ASSERT_EQ(t.ops.size(), 2u);
  const auto& roll = t.ops[0];
  EXPECT_EQ(roll.op, "aten::roll");
  ASSERT_EQ(roll.shapes.size(), 3u);
  EXPECT_EQ(roll.shapes[0], (std::vector<int64_t>{64, 3, 256, 256}));
  EXPECT_EQ(roll.shapes[1], (std::vector<int64_t>{8, 1024}));
  EXPECT_TRUE(roll.shapes[2].empty());
  EXPECT_EQ(roll.dtypes, (std::vector<at::ScalarType>{at::kFloat, at::kHalf, at::kLong}));
  ASSERT_TRUE(roll.demand);
  EXPECT_EQ(roll.demand->votes, 12);
  EXPECT_EQ(roll.demand->links.size(), 1u);
  EXPECT_EQ(roll.mark.line, 4);
  EXPECT_EQ(t.ops[1].emulate, std::vector<std::string>{"aten::isin.Tensor_Tensor"});
  EXPECT_EQ(t.sha1.size(), 40u);
}

TEST(Targets, SeedFileLoads) {
  const auto t = load_targets(std::string(MPSFB_SOURCE_DIR) + "/ops/targets.seed.yaml", {}, make_op_checker());
  EXPECT_GE(t.ops.size(), 5u);
}

TEST(Targets, YamlSyntaxErrorNamesLineAndColumn) {
  const auto p = problems_of("version: 1\nops:\n  - op: aten::roll\n    shapes: [[1, 2]\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(has_problem(p, "t.yaml:", "YAML syntax error"));
}

TEST(Targets, UnknownKeyListsTheAllowedOnes) {
  const auto p = problems_of("version: 1\nops:\n  - op: aten::roll\n    shape: [[4]]\n    dtypes: [f32]\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:4:5", "unknown key 'shape' in ops entry"));
  EXPECT_TRUE(has_problem(p, "t.yaml:4:5", "expected: one of args, check, demand, dtypes"));
  EXPECT_TRUE(has_problem(p, "t.yaml:3:5", "has no shapes"));
}

TEST(Targets, UnknownOpAndUnknownOverloadAreCheckedAgainstTheDispatcher) {
  const auto p = problems_of(R"(version: 1
ops:
  - op: aten::no_such_op
    shapes: [[4]]
    dtypes: [f32]
  - op: aten::isin.Tensor_Tensorz
    shapes: [[4]]
    dtypes: [f32]
)");
  EXPECT_TRUE(has_problem(p, "t.yaml:3:5", "unknown op 'aten::no_such_op'"));
  EXPECT_TRUE(has_problem(p, "t.yaml:6:5", "unknown overload 'Tensor_Tensorz' of aten::isin"));
  EXPECT_TRUE(has_problem(p, "t.yaml:6:5", "Tensor_Tensor"));  // the known overloads are listed
}

TEST(Targets, UnknownDtype) {
  const auto p = problems_of("version: 1\nops:\n  - op: aten::roll\n    shapes: [[4]]\n    dtypes: [f32, float8]\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:5:19", "unknown dtype 'float8'"));
  EXPECT_TRUE(has_problem(p, "t.yaml:5:19", "expected: one of f32, f16, bf16"));
}

TEST(Targets, BadShapes) {
  const auto p = problems_of(R"(version: 1
ops:
  - op: aten::roll
    shapes: [[4, -1], [2.5, 3], 4xfoo, [1000000, 1000000]]
    dtypes: [f32]
)");
  EXPECT_TRUE(has_problem(p, "t.yaml:4:18", "negative size -1"));
  EXPECT_TRUE(has_problem(p, "t.yaml:4:24", "is not an integer"));
  EXPECT_TRUE(has_problem(p, "t.yaml:4:33", "bad shape '4xfoo'"));
  EXPECT_TRUE(has_problem(p, "t.yaml:4:40", "1000000x1000000 of f32 needs 3814697 MiB, over the memory budget"));
}

TEST(Targets, MemoryBudgetIsConfigurable) {
  const std::string text = "version: 1\nops:\n  - op: aten::roll\n    shapes: [[1024, 1024]]\n    dtypes: [f32]\n";
  EXPECT_TRUE(problems_of(text).empty());
  LoadOptions tight;
  tight.memory_budget_bytes = 1 << 20;  // 1 MiB < 4 MiB of f32
  EXPECT_TRUE(has_problem(problems_of(text, tight), "t.yaml:4:14", "needs 4 MiB, over the memory budget of 1 MiB"));
}

TEST(Targets, OpWithoutFixtureUnlessMarked) {
  const std::string entry = "version: 1\nops:\n  - op: aten::lcm\n    shapes: [[4]]\n    dtypes: [i64]\n";
  EXPECT_TRUE(has_problem(problems_of(entry), "t.yaml:3:5", "op without fixture"));
  EXPECT_TRUE(problems_of(entry + "    needs_fixture: true\n").empty());
}

TEST(Targets, AllProblemsAreListedAtOnce) {
  const auto p = problems_of(R"(version: 2
colour: blue
ops:
  - op: aten::roll
    shapes: [[-4]]
    dtypes: [f33]
  - op: not an op
    shapes: [[4]]
    dtypes: [f32]
  - op: aten::roll
    shapes: [[4]]
    dtypes: [f32]
)");
  EXPECT_TRUE(has_problem(p, "t.yaml:1:10", "unsupported version 2"));
  EXPECT_TRUE(has_problem(p, "t.yaml:2:1", "unknown key 'colour' in the top level"));
  EXPECT_TRUE(has_problem(p, "t.yaml:5:15", "negative size -4"));
  EXPECT_TRUE(has_problem(p, "t.yaml:6:14", "unknown dtype 'f33'"));
  EXPECT_TRUE(has_problem(p, "t.yaml:7:9", "bad op name 'not an op'"));
  EXPECT_TRUE(has_problem(p, "t.yaml:10:5", "listed twice"));
  EXPECT_EQ(p.size(), 6u);
}

TEST(Targets, ArgsSpecDecodes) {
  const auto t = parse_targets(R"(version: 1
ops:
  - op: aten::lcm
    shapes: [[4]]
    dtypes: [i64]
    needs_fixture: true
    args:
      - self
      - tensor: {shape: [16], dtype: i64, init: 'randint(0, 100)'}
      - int: 1
      - float: 0.5
      - bool: false
      - ints: [1, -2]
      - none
      - str: mean
      - self: {init: spd}
)",
                               "t.yaml", {});
  const auto& a = *t.ops[0].args;
  ASSERT_EQ(a.size(), 9u);
  EXPECT_EQ(a[0].kind, ArgSpec::Kind::kSelf);
  EXPECT_EQ(a[1].kind, ArgSpec::Kind::kTensor);
  EXPECT_EQ(*a[1].tensor.shape, std::vector<int64_t>{16});
  EXPECT_EQ(*a[1].tensor.dtype, at::kLong);
  EXPECT_EQ(a[1].tensor.init, Init::kRandint);
  EXPECT_EQ(a[1].tensor.hi, 100);
  EXPECT_EQ(a[2].i, 1);
  EXPECT_DOUBLE_EQ(a[3].f, 0.5);
  EXPECT_FALSE(a[4].b);
  EXPECT_EQ(a[5].ints, (std::vector<int64_t>{1, -2}));
  EXPECT_EQ(a[6].kind, ArgSpec::Kind::kNone);
  EXPECT_EQ(a[7].s, "mean");
  EXPECT_EQ(a[8].tensor.init, Init::kSpd);
  EXPECT_EQ(a[1].mark.line, 9);
}

TEST(Targets, MalformedArgsSpecNamesLineAndExpectedForm) {
  const auto p = problems_of(R"(version: 1
ops:
  - op: aten::lcm
    shapes: [[4]]
    dtypes: [i64]
    needs_fixture: true
    args:
      - itself
      - tensor: {shape: [16], init: 'randint(5, 1)'}
      - int: two
)");
  EXPECT_TRUE(has_problem(p, "t.yaml:8:9", "malformed argument (expected: self, none, or one of"));
  EXPECT_TRUE(has_problem(p, "t.yaml:9:37", "randint(5, 1) needs lo < hi (expected: randn, rand, randint(lo, hi)"));
  EXPECT_TRUE(has_problem(p, "t.yaml:10:14", "int argument is not an integer"));
}

TEST(Targets, ArgsSpecIsCheckedAgainstTheSchemaBeforeAnythingRuns) {
  const auto p = problems_of(R"(version: 1
ops:
  - op: aten::lerp.Scalar_out
    shapes: [[4]]
    dtypes: [f32]
    args:
      - self
      - int: 2
)");
  EXPECT_TRUE(has_problem(p, "t.yaml:8:9", "('end') of aten::lerp.Scalar_out is Tensor, the spec gives an int"));
}

TEST(Targets, CheckAndToleranceOverrides) {
  const auto t = parse_targets(
      "version: 1\nops:\n  - op: aten::roll\n    shapes: [[4]]\n    dtypes: [f32]\n    check: random\n"
      "    tol_scale: 12.5\n",
      "t.yaml", {});
  EXPECT_EQ(t.ops[0].check, Check::kRandom);
  EXPECT_DOUBLE_EQ(t.ops[0].tol_scale, 12.5);
  const auto p = problems_of(
      "version: 1\nops:\n  - op: aten::roll\n    shapes: [[4]]\n    dtypes: [f32]\n    check: fuzzy\n"
      "    tol_scale: -1\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:6:12", "unknown check 'fuzzy' (expected: close or random)"));
  EXPECT_TRUE(has_problem(p, "t.yaml:7:16", "tol_scale must be positive"));
}

TEST(Targets, RecordedVerdictDecodesAndBadOnesAreNamed) {
  const auto t = parse_targets(
      "version: 1\nops:\n  - op: aten::roll\n    shapes: [[4]]\n    dtypes: [f32]\n"
      "    mps_verdict: {torch: 2.13.0, verdict: falls back, via: [aten::roll], source: static}\n",
      "t.yaml", {});
  ASSERT_TRUE(t.ops[0].recorded_verdict);
  EXPECT_EQ(t.ops[0].recorded_verdict->torch, "2.13.0");
  EXPECT_EQ(t.ops[0].recorded_verdict->verdict, "falls back");
  EXPECT_EQ(t.ops[0].recorded_verdict->via, std::vector<std::string>{"aten::roll"});
  const auto p = problems_of(
      "version: 1\nops:\n  - op: aten::roll\n    shapes: [[4]]\n    dtypes: [f32]\n"
      "    mps_verdict: {torch: 2.13.0, verdict: maybe, when: now}\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:6:", "unknown verdict 'maybe' (expected: native, falls back, unsupported dtype or unknown)"));
  EXPECT_TRUE(has_problem(p, "t.yaml:6:", "when"));
}

TEST(Targets, MissingFileIsAnError) {
  try {
    load_targets("/nonexistent/targets.yaml");
    FAIL() << "no error";
  } catch (const TargetsError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/targets.yaml: cannot open"), std::string::npos);
  }
}

// ---- hostile input: no crash, no hang, the position and the limit named (issue 13) ----------

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Each problem is short, whatever the input: long values are cut in messages.
::testing::AssertionResult all_short(const std::vector<std::string>& problems) {
  for (const auto& p : problems)
    if (p.size() > 400) return ::testing::AssertionFailure() << "a " << p.size() << "-character problem";
  return ::testing::AssertionSuccess();
}

TEST(TargetsHostile, LongOpNameAndLongShapeAreScannedWithoutRecursion) {
  // std::regex overflowed the stack on both (SIGSEGV) before the hand-written scanners.
  const std::string long_shape = "1" + repeat("x1", 12000);
  const auto p = problems_of("version: 1\nops:\n  - op: aten::" + repeat("a", 50000) +
                             "\n    shapes: [[4]]\n    dtypes: [f32]\n  - op: aten::roll\n    shapes: [" + long_shape +
                             ", " + repeat("1", 40000) + "]\n    dtypes: [f32]\n  - op: aten::" + repeat("!", 30000) +
                             "\n    shapes: [[4]]\n    dtypes: [f32]\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:3:9", "op name of 50006 characters, longer than 256"));
  EXPECT_TRUE(has_problem(p, "t.yaml:7:14", "(24001 characters) has more than 64 dimensions"));
  EXPECT_TRUE(has_problem(p, "t.yaml:7:24017", "(40000 characters) does not fit int64 (allowed: 0 to 9223372036854775807)"));
  EXPECT_TRUE(has_problem(p, "t.yaml:9:9", "op name of 30006 characters"));
  EXPECT_TRUE(all_short(p));
  // Below the caps a valid long form still loads.
  const auto t = parse_targets("version: 1\nops:\n  - op: aten::roll\n    shapes: [1" + repeat("x1", 63) +
                                   "]\n    dtypes: [f32]\n",
                               "t.yaml");
  EXPECT_EQ(t.ops[0].shapes[0].size(), 64u);
}

TEST(TargetsHostile, IntegersThatDoNotFitInt64NameThePositionAndTheRange) {
  const auto p = problems_of(R"(version: 1
ops:
  - op: aten::roll
    shapes: [99999999999999999999x2, [9223372036854775808], [9223372036854775807]]
    dtypes: [f32]
  - op: aten::isin.Tensor_Tensor
    shapes: [[4]]
    dtypes: [i64]
    args: [self, {tensor: {shape: [4], init: 'randint(-99999999999999999999, 1)'}}, {int: 99999999999999999999}]
    demand: {votes: 18446744073709551616}
)");
  EXPECT_TRUE(has_problem(p, "t.yaml:4:14", "size '99999999999999999999' in shape '99999999999999999999x2' does not "
                                            "fit int64 (allowed: 0 to 9223372036854775807)"));
  EXPECT_TRUE(has_problem(p, "t.yaml:4:39", "shape item '9223372036854775808' does not fit int64 (allowed: 0 to "
                                            "9223372036854775807)"));
  // INT64_MAX itself fits: it is over the memory budget, and says so without overflowing.
  EXPECT_TRUE(has_problem(p, "t.yaml:4:61", "needs more than 8 EiB (its size overflows int64)"));
  EXPECT_TRUE(has_problem(p, "t.yaml:9:46", "randint bound '-99999999999999999999' does not fit int64 (allowed: "
                                            "-9223372036854775808 to 9223372036854775807)"));
  EXPECT_TRUE(has_problem(p, "t.yaml:9:91", "int argument does not fit int64"));
  EXPECT_TRUE(has_problem(p, "t.yaml:10:21", "demand.votes does not fit int64"));
}

TEST(TargetsHostile, SizesAreCheckedNotOverflowed) {
  // 2^32 x 2^32 x 4 elements: the double arithmetic printed "needs -9223372036854775808 MiB".
  auto p = problems_of("version: 1\nops:\n  - op: aten::roll\n    shapes: [[4294967296, 4294967296, 4]]\n"
                       "    dtypes: [f32]\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:4:14", "shape 4294967296x4294967296x4 of f32 needs more than 8 EiB (its size "
                                            "overflows int64), over the memory budget of 4096 MiB"));
  // A zero size makes an empty tensor, whatever the others multiply to.
  EXPECT_TRUE(problems_of("version: 1\nops:\n  - op: aten::roll\n    shapes: [[9223372036854775807, 9223372036854775807, "
                          "0]]\n    dtypes: [f32]\n")
                  .empty());
  // The largest budget (--memory_budget_mb at its cap) accepts a large shape and counts right.
  LoadOptions huge;
  huge.memory_budget_bytes = INT64_MAX;
  EXPECT_TRUE(problems_of("version: 1\nops:\n  - op: aten::roll\n    shapes: [[1000000, 1000000]]\n    dtypes: [c128]\n",
                          huge)
                  .empty());
  EXPECT_EQ(tensor_bytes({1000000, 1000000}, at::kComplexDouble), int64_t{16} * 1000000 * 1000000);
  EXPECT_EQ(tensor_bytes({int64_t{1} << 62, 2}, at::kFloat), std::nullopt);
  EXPECT_EQ(tensor_bytes({}, at::kDouble), 8);
}

TEST(TargetsHostile, DeepNestingIsRefusedWithItsPosition) {
  // Flow collections: refused by the loader's own scan, before yaml-cpp recurses.
  auto p = problems_of("version: 1\nops: " + repeat("[", 100000) + repeat("]", 100000) + "\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(has_problem(p, "t.yaml:2:262", "nesting deeper than 256 levels (expected: a targets file nests about 7"));
  p = problems_of("version: 1\nops: {" + repeat("a: {", 100000) + repeat("}", 100001) + "\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:2:", "nesting deeper than 256 levels"));
  // Block sequences: yaml-cpp's own guard, said in the loader's words.
  p = problems_of("version: 1\nops:\n" + repeat("- ", 100000) + "x\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(has_problem(p, "t.yaml:3:", "nesting deeper than")) << p[0];
  EXPECT_EQ(p[0].find("bad file"), std::string::npos) << p[0];
  // Brackets in quotes, comments and plain text are not nesting.
  EXPECT_TRUE(problems_of("version: 1\nops:\n  - op: aten::roll  # " + repeat("[", 300) + "\n    note: '" +
                          repeat("{", 300) + "'\n    shapes: [[4]]\n    dtypes: [f32]\n")
                  .empty());
}

TEST(TargetsHostile, AliasExpansionIsCountedAndRefusedWithItsPosition) {
  // 1,500 entries, each an alias of one whose shapes are 1,000 aliases: 1.5 million nodes to
  // decode from 10 KB (the 0.5 MB version reached std::bad_alloc at 4 GB).
  std::string text = "version: 1\nshape: &s [4]\nshapes: &ss [" + repeat("*s, ", 999) + "*s]\n" +
                     "entry: &e {op: aten::roll, dtypes: [f32], shapes: *ss}\nops: [" + repeat("*e, ", 999) + "*e]\n";
  auto p = problems_of(text);
  ASSERT_EQ(p.size(), 1u) << p.front();
  EXPECT_TRUE(has_problem(p, "t.yaml:5:", "more than 1000000 YAML nodes, counting those reached through aliases"));
  // A few aliases of a small list are fine, and decode as written.
  const auto t = parse_targets("version: 1\nops:\n  - op: aten::roll\n    shapes: &s [[4], [8]]\n    dtypes: [f32]\n"
                               "  - op: aten::cumsum\n    shapes: *s\n    dtypes: [f32]\n",
                               "t.yaml");
  EXPECT_EQ(t.ops[1].shapes, (std::vector<std::vector<int64_t>>{{4}, {8}}));
}

TEST(TargetsHostile, NodeCountIsBoundedWhateverTheSize) {
  // A flow list under generated: (not decoded): yaml-cpp's tree took ~150 bytes per input byte.
  const auto p = problems_of("version: 1\ngenerated: [" + repeat("1,", 1000001) + "1]\nops:\n  - op: aten::roll\n"
                             "    shapes: [[4]]\n    dtypes: [f32]\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(has_problem(p, "t.yaml:2:", "more than 1000000 YAML nodes, counting those reached directly"));
}

TEST(TargetsHostile, KeyGivenTwiceIsAProblem) {
  // yaml-cpp kept the first and dropped the second without a word.
  auto p = problems_of("version: 1\nops:\n  - op: aten::roll\n    shapes: [[4]]\n    dtypes: [f32]\n"
                       "ops:\n  - op: aten::cumsum\n    shapes: [[4]]\n    dtypes: [f32]\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:6:1", "key 'ops' given twice in one map (first on line 2"));
  p = problems_of("version: 1\nops:\n  - op: aten::roll\n    shapes: [[4]]\n    shapes: [[8]]\n    dtypes: [f32]\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:5:5", "key 'shapes' given twice"));
  // The same key in two maps is not twice.
  EXPECT_TRUE(problems_of("version: 1\nops:\n  - op: aten::roll\n    shapes: [[4]]\n    dtypes: [f32]\n"
                          "  - op: aten::cumsum\n    shapes: [[4]]\n    dtypes: [f32]\n")
                  .empty());
}

TEST(TargetsHostile, IntegersAreDecimalOnly) {
  // yaml-cpp read 010 as octal 8 and 064 as 52, while the string '010x064' is 10x64.
  const auto t = parse_targets("version: 1\nops:\n  - op: aten::roll\n    shapes: [[010, 064], '010x064']\n"
                               "    dtypes: [f32]\n    demand: {votes: 010}\n",
                               "t.yaml");
  EXPECT_EQ(t.ops[0].shapes[0], (std::vector<int64_t>{10, 64}));
  EXPECT_EQ(t.ops[0].shapes[1], (std::vector<int64_t>{10, 64}));
  EXPECT_EQ(t.ops[0].demand->votes, 10);
  const auto p = problems_of("version: 1\nops:\n  - op: aten::roll\n    shapes: [[0x10]]\n    dtypes: [f32]\n"
                             "    demand: {votes: 0x11}\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:4:15", "shape item '0x10' is not a decimal integer"));
  EXPECT_TRUE(has_problem(p, "t.yaml:6:21", "demand.votes '0x11' is not a decimal integer"));
}

TEST(TargetsHostile, NumbersMustBeFinite) {
  // tol_scale: .inf made every closeness check pass; 1e400 is a number, out of range.
  const auto p = problems_of("version: 1\nops:\n  - op: aten::roll\n    shapes: [[4]]\n    dtypes: [f32]\n"
                             "    tol_scale: .inf\n  - op: aten::isin.Tensor_Tensor\n    shapes: [[4]]\n"
                             "    dtypes: [i64]\n    args: [self, {float: 1e400}]\n");
  EXPECT_TRUE(has_problem(p, "t.yaml:6:16", "tol_scale '.inf' is not finite"));
  EXPECT_TRUE(has_problem(p, "t.yaml:10:26", "float argument '1e400' does not fit a double"));
}

// A path that is not a regular file: a clear message, never a hang (a FIFO blocked for ever).
class TargetsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("mpsfb_targets_file_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string load_error(const std::string& path) {
    try {
      load_targets(path);
    } catch (const TargetsError& e) {
      return e.what();
    }
    return "(loaded)";
  }
  std::filesystem::path dir_;
};

TEST_F(TargetsFile, FifoIsRefusedWithoutBlocking) {
  const auto fifo = dir_ / "targets.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(load_error(fifo.string()).find(fifo.string() + ": the targets file is not a regular file (a FIFO"),
            std::string::npos);
  // Removed here, not by TearDown's std::filesystem::remove_all: the CUDA wheel's libtorch.so
  // carries its own copy of std::filesystem (manylinux builds link it in), the dynamic linker
  // binds this test's remove_all to it, and that copy jumps to address 0 on a FIFO (RIP 0 under
  // remove_all, seen on the GPU machine with torch 2.11).
  EXPECT_EQ(::unlink(fifo.c_str()), 0);
}

TEST_F(TargetsFile, DirectoryAndProcFilesAreNamedAsSuch) {
  EXPECT_NE(load_error(dir_.string()).find(dir_.string() + ": the targets file is a directory"), std::string::npos)
      << load_error(dir_.string());
  if (std::filesystem::exists("/proc/self/mem")) {
    const auto e = load_error("/proc/self/mem");
    EXPECT_NE(e.find("/proc/self/mem: cannot read the targets file"), std::string::npos) << e;
  }
  if (std::filesystem::exists("/dev/zero")) {
    const auto e = load_error("/dev/zero");
    EXPECT_NE(e.find("/dev/zero: the targets file is not a regular file"), std::string::npos) << e;
  }
}

TEST(Targets, SplitOverload) {
  EXPECT_EQ(split_overload("aten::isin.Tensor_Tensor"), (std::pair<std::string, std::string>{"aten::isin", "Tensor_Tensor"}));
  EXPECT_EQ(split_overload("aten::roll"), (std::pair<std::string, std::string>{"aten::roll", ""}));
}

}  // namespace
}  // namespace mpsfb
