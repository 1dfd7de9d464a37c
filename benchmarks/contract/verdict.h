// The static MPS verdict: what MPS does with an op in a given torch, read from that torch's own
// native_functions.yaml (it ships in every wheel, on every platform), so it is known on any
// machine. LibTorch-free: the harness, the report and the tests share it. The run-time probe
// on an MPS build stays the truth; this is the yaml's view (reference: mps-fallback-facts.md §13).
//
//   native      the entry, its structured_delegate or its out= variant dispatches to MPS
//   falls back  the entry dispatches to backends, none of them MPS; or MPSFallback.mm
//               registers it as always falling back in that torch
//   composite   CompositeImplicit/ExplicitAutograd only: the leaves it calls decide, judged from
//               the calls observed once (judge() with a CallGraph)
//   unsupported dtype   MPS cannot hold the dtype (float64, complex128): an error, not a fallback
#pragma once

#include "contract/result.h"

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mpsfb::verdicts {

// One native_functions.yaml entry, as far as the verdict needs it.
struct Entry {
  std::vector<std::string> dispatch_keys;  // every key named under dispatch:, comma lists split
  std::string structured_delegate;         // "isin.Tensor_Tensor_out", or empty
  int line = 0;                            // 1-based line of `- func:` in the file
};

// The yaml of one torch, by "name.overload" without the namespace ("roll", "isin.Tensor_Tensor").
struct NativeFunctions {
  std::string path;
  std::map<std::string, Entry> entries;
};

// Throws std::runtime_error naming the file (and line) when it cannot be read or is not the yaml.
NativeFunctions load_native_functions(const std::string& path);
NativeFunctions parse_native_functions(const std::string& text, const std::string& path);

// "2.13.0+cpu" -> {2, 13}; nullopt when it does not start with major.minor.
std::optional<std::pair<int, int>> parse_torch_version(const std::string& version);

// Ops MPSFallback.mm registers with the fallback as their MPS kernel in that torch: they fall
// back whatever PYTORCH_ENABLE_MPS_FALLBACK says and the yaml cannot see them. Empty for a
// version the table does not know. `source` says where the row comes from.
std::vector<std::string> always_fallback_ops(const std::string& torch_version, std::string* source = nullptr);

// Ops that MPS serves from kernels registered outside the yaml (TORCH_LIBRARY_IMPL(..., MPS, m)
// in the MPS sources, or in torchvision): "native" with that source.
std::optional<std::string> native_outside_yaml(const std::string& op);

// Dtypes (the harness's short names: f64, c128) MPS cannot hold; empty when it can.
std::string mps_unsupported_dtype_reason(const std::string& dtype);

enum class Static { kNative, kFallsBack, kComposite, kUnknown };

struct Verdict {
  std::string verdict;           // a contract token: verdict::kNative, kFallsBack, kUnsupportedDtype, kUnknown
  std::vector<std::string> via;  // falls back: the leaves without an MPS kernel; native composite: its leaves
  std::string source;            // "static: native_functions.yaml of torch 2.13.0", ...
  std::string text(const std::string& op) const { return verdict::text(verdict, op, via); }
};

// Ops called directly inside each op ("aten::name.overload"), as observed in one call.
using CallGraph = std::map<std::string, std::set<std::string>>;

// Where a Book's verdicts come from (verdict_source.h builds it from the flags).
struct Origin {
  std::string kind = "linked";  // linked | release | file | source tree
  std::string file;             // the native_functions.yaml read
  std::string id;               // "sha256:<hex>" of that yaml, or "commit:<hex>" of a source tree
  std::string described;        // the source string: "static: native_functions.yaml of torch 2.15.0 (wheel ...)"
  std::string linked_torch;     // the torch whose CPU calls show a composite's leaves; empty: the same torch
};

// What a PyTorch source tree says beyond its yaml: MPSFallback.mm's always-fallback rows and the
// TORCH_LIBRARY_IMPL(aten, MPS, m) registrations of aten/src/ATen/native/mps (native outside the yaml).
struct TreeFacts {
  std::vector<std::string> always;          // "name.overload" as registered
  std::string always_source;                // "aten/src/ATen/mps/MPSFallback.mm of /x at commit abc"
  std::map<std::string, std::string> registered;  // "name.overload" -> "file:line"
};

class Book {
 public:
  // `nf` empty (no yaml found): every verdict is unknown, with `why` as its source.
  Book(std::optional<NativeFunctions> nf, std::string torch_version, std::string why_none = {});

  bool has_yaml() const { return nf_.has_value(); }
  const std::string& torch_version() const { return torch_; }
  std::string yaml_source() const;  // "static: native_functions.yaml of torch 2.13.0", or origin().described
  const Origin& origin() const { return origin_; }
  void set_origin(Origin origin) { origin_ = std::move(origin); }
  // A source tree's own always-fallback rows (replacing the table's) and MPS registrations.
  void set_tree(TreeFacts facts);

  // The op alone: native, falls back, composite, or unknown (not in the yaml); `why` the rule that decided.
  Static classify(const std::string& op, std::string* why = nullptr) const;
  // The verdict of one case: its dtype, its op and, for a composite, the calls seen inside it
  // (null: not observed, a composite's verdict is then unknown).
  Verdict judge(const std::string& op, const std::string& dtype, const CallGraph* calls) const;

 private:
  const Entry* find(const std::string& op) const;
  bool has_mps(const std::string& op, int depth = 0) const;
  void leaves(const std::string& op, const CallGraph& calls, int depth, std::set<std::string>& falling,
              std::set<std::string>& native) const;

  std::optional<NativeFunctions> nf_;
  std::string torch_;
  std::string why_none_;
  std::set<std::string> always_;
  std::string always_source_;
  Origin origin_;
  std::map<std::string, std::string> registered_;
};

// Finds native_functions.yaml next to an installed torch: given the directory of libtorch's
// libraries (".../site-packages/torch/lib"), the wheel's torchgen copy beside torch. Empty when
// there is none.
std::string find_native_functions(const std::string& torch_lib_dir);

}  // namespace mpsfb::verdicts
