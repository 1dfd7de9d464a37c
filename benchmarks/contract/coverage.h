// The coverage history: each op's MPS verdict in every torch release, and the release from which
// it is native (ops/mps_coverage.yaml, written by tools/update_coverage.sh; docs/coverage.md).
// LibTorch-free: the generator (tools/coverage), the report and the tests share the format.
//
//   const auto cov = coverage::load_coverage("ops/mps_coverage.yaml");
//   if (const auto since = cov.native_since("aten::_linalg_eigh")) ...  // "2.15"
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpsfb::coverage {

// One judged release: its torch version and the wheel its files came from.
struct Release {
  std::string torch;   // "2.15.0"
  std::string wheel;   // "torch-2.15.0-cp312-cp312-macosx_14_0_arm64.whl"
  std::string sha256;  // of the wheel
  std::map<std::string, std::string> files;  // file name -> sha256 (native_functions.yaml, common_mps.py)
  std::string minor() const;                 // "2.15": the key of verdicts
};

struct Op {
  std::string op;                                // "aten::linalg_eig"
  std::map<std::string, std::string> verdicts;   // "2.15" -> a contract token (verdict::kNative, ...)
  std::optional<std::string> native_since;       // "2.15", or none when the newest release falls back
  std::vector<std::string> via;                  // a composite's leaves, as the linked torch ran them
  std::vector<std::string> listed;               // releases whose UNIMPLEMENTED_XFAILLIST maps to it
  bool requested = false;                        // in the seed with demand (votes > 0)
  int line = 0;                                  // 1-based line of `- op:` in the file
};

struct Coverage {
  std::string path;
  std::vector<Release> releases;  // oldest first
  std::vector<Op> ops;

  const Op* find(const std::string& op) const;
  // The release from which `op` is native through the newest; none when it is not (or not listed).
  std::optional<std::string> native_since(const std::string& op) const;
  // Its verdict in one release ("2.15" or "2.15.0"); empty when the file does not have it.
  std::string verdict(const std::string& op, const std::string& release) const;
  const Release* newest() const { return releases.empty() ? nullptr : &releases.back(); }
};

// "2.15.0" -> "2.15"; the text itself when it has no second dot.
std::string minor_of(const std::string& version);

// The first of `releases_oldest_first` from which every verdict is native; none when the newest
// is not native or a release has no verdict.
std::optional<std::string> first_native_through_newest(const std::map<std::string, std::string>& verdicts,
                                                       const std::vector<std::string>& releases_oldest_first);

// Throws std::runtime_error "PATH:LINE: what" when the file cannot be read or breaks the format.
Coverage load_coverage(const std::string& path);
Coverage parse_coverage(const std::string& text, const std::string& path);
// The file's text, `header` (comment lines, each starting with '#') first. parse_coverage reads it back.
std::string format_coverage(const Coverage& cov, const std::string& header);

// Ops whose verdict moved between two judgements: falls back -> native (fixed), native -> falls
// back (regressed). Ops judged on one side only, or unknown on either, are in neither.
struct VerdictDiff {
  std::vector<std::string> fixed;
  std::vector<std::string> regressed;
};
VerdictDiff diff_verdicts(const std::map<std::string, std::string>& before,
                          const std::map<std::string, std::string>& after);

}  // namespace mpsfb::coverage
