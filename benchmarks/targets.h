// ops/targets.yaml decoded once into plain structs; nothing else sees a YAML::Node.
// The format is documented in docs/targets-format.md.
#pragma once

#include "check.h"

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mpsfb {

// Where a value came from, for messages: "ops/targets.yaml:12:5".
struct SourceMark {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string str() const;
};

enum class Init { kRandn, kRand, kRandint, kArange, kOnes, kZeros, kSpd };

struct TensorSpec {
  std::optional<std::vector<int64_t>> shape;  // nullopt: the case's shape
  std::optional<at::ScalarType> dtype;        // nullopt: the case's dtype
  Init init = Init::kRandn;
  int64_t lo = 0, hi = 10;  // randint bounds
};

// One argument of the generic fixture, in schema order.
struct ArgSpec {
  enum class Kind { kSelf, kTensor, kInt, kFloat, kBool, kInts, kNone, kStr };
  Kind kind = Kind::kNone;
  TensorSpec tensor;  // kSelf, kTensor
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::vector<int64_t> ints;
  std::string s;
  SourceMark mark;
};

struct Demand {
  std::optional<int64_t> votes, users, thumbs_up;  // absent: not counted, which is not 0
  std::string first_request, last_request;
  std::vector<int64_t> issues;
  std::vector<std::string> links;  // requesting comments, newest first
  std::vector<std::string> use_cases;
};

// An op's MPS verdict as tools/sync_requests recorded it for the torch it ran with.
struct RecordedVerdict {
  std::string torch, verdict, source;
  std::vector<std::string> via;
};

struct OpTarget {
  std::string op;  // "aten::upsample_bicubic2d.out"
  std::vector<std::vector<int64_t>> shapes;
  std::vector<at::ScalarType> dtypes;
  std::optional<std::vector<ArgSpec>> args;  // generic fixture
  std::vector<std::string> emulate;          // ops to route through the fallback (default: op)
  std::optional<Check> check;                // overrides the trait's (generic fixture: random ops)
  double tol_scale = 0;                      // > 0: overrides the trait's tolerance scale
  bool needs_fixture = false;
  std::string requires_lib;  // "torchvision": its ops must be loaded
  std::string note;
  std::optional<Demand> demand;
  std::optional<RecordedVerdict> recorded_verdict;  // informational: each run judges its cases itself
  SourceMark mark;
};

struct Targets {
  std::string path;
  std::string sha1;  // of the file's bytes
  std::vector<OpTarget> ops;
};

// All problems of one file, one per line, each "file:line:column: what (expected: form)".
class TargetsError : public std::runtime_error {
 public:
  explicit TargetsError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

struct LoadOptions {
  // A case whose `self` tensor would exceed this many bytes is rejected at load time.
  int64_t memory_budget_bytes = int64_t{4} << 30;
  // For a reader of demand only (mpsfb_report): each entry's op and demand are decoded and
  // checked as for a run; every other key, known or not, is left unread, and an entry needs no
  // shapes or dtypes.
  bool demand_only = false;
};

// Checks one decoded entry against things the loader cannot know (the dispatcher, the
// fixture registry); returns its problems without location, the loader adds the entry's.
using OpChecker = std::function<std::vector<std::string>(const OpTarget&)>;

// Parses the file and checks its structure (syntax, keys, types, dtypes, shapes), then runs
// `check` on each entry. Throws TargetsError listing every problem at once.
Targets load_targets(const std::string& path, const LoadOptions& options = {}, const OpChecker& check = {});
Targets parse_targets(const std::string& text, const std::string& path, const LoadOptions& options = {},
                      const OpChecker& check = {});

// Text forms the loader and --input share, scanned by hand (no regex: Note [No regex on user
// text] in targets.cpp) with every integer checked against int64.
inline constexpr size_t kMaxShapeDims = 64;
// "1x3x224x224" -> {1, 3, 224, 224}; "scalar" -> {}. nullopt when malformed, with the reason
// (naming the value and, for a size that does not fit int64, the allowed range) in `why`.
std::optional<std::vector<int64_t>> parse_shape_text(std::string_view text, std::string* why);
// Bytes of a tensor with sizes `dims` (each >= 0) of `dtype`; nullopt when that does not fit
// int64, so a size is never computed with overflow.
std::optional<int64_t> tensor_bytes(const std::vector<int64_t>& dims, at::ScalarType dtype);

// Splits "aten::isin.Tensor_Tensor" into {"aten::isin", "Tensor_Tensor"}.
std::pair<std::string, std::string> split_overload(const std::string& op);

}  // namespace mpsfb
