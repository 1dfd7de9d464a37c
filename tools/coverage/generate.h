// The coverage history generator behind mpsfb_coverage (docs/coverage.md): every op of the seed
// and of the mapped UNIMPLEMENTED_XFAILLISTs, judged in each release by the one verdict rule
// (benchmarks/contract/verdict.h) from that release's own files. LibTorch-free.
#pragma once

#include "contract/coverage.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mpsfb::coverage {

// One release's inputs: a torch-files cache entry (docs/coverage.md) and its list.
struct ReleaseInput {
  Release release;               // from the entry's wheel.json
  std::string native_functions;  // path of the entry's native_functions.yaml
  // OpInfo names whose UNIMPLEMENTED_XFAILLIST value is None (tools/coverage/unimplemented.py);
  // none when the wheel has no common_mps.py (torch 2.6 and 2.7 kept the list in test/test_mps.py).
  std::optional<std::vector<std::string>> unimplemented;
  std::string unimplemented_source;  // the list file, for messages
};

// What the generator takes from the seed: the op, the leaves its recorded verdict names (the
// linked torch's composite decomposition), and whether it was requested.
struct SeedOp {
  std::string op;
  std::vector<std::string> via;
  bool requested = false;
};

// ops/mps_unimplemented.yaml: OpInfo name -> the aten ops that lack the kernel (empty: why_not).
struct OpInfoMap {
  std::string path;
  std::map<std::string, std::vector<std::string>> aten;
};

// Throw std::runtime_error "PATH[:LINE]: what" on a bad file. `lists_dir` empty: no list is read.
ReleaseInput read_release(const std::string& entry_dir, const std::string& lists_dir);
std::vector<SeedOp> read_seed(const std::string& path);
OpInfoMap read_opinfo_map(const std::string& path);

// Releases oldest first. Throws when a release lists an OpInfo name the map does not have.
Coverage generate(const std::vector<ReleaseInput>& releases, const std::vector<SeedOp>& seed, const OpInfoMap& map);

// The verdict of every entry of one native_functions.yaml, "aten::name.overload" -> native or
// falls back (composites are left out: their leaves decide). `torch` picks MPSFallback.mm's
// always-fallback rows; empty: none known.
std::map<std::string, std::string> yaml_verdicts(const std::string& native_functions, const std::string& torch);

// The comment block ops/mps_coverage.yaml opens with: how it was made and how to read it.
std::string coverage_header(const std::string& seed_path, const std::string& map_path);

}  // namespace mpsfb::coverage
