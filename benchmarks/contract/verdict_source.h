// The verdict source as a value: which torch the static MPS verdicts are for and which files
// they are read from, chosen by three flags that mps_benchmarks and mpsfb_report share:
//
//   (none)                       the linked torch's own native_functions.yaml
//   --verdict-torch=2.15.0|latest  a release's yaml from the per-user cache, fetched on a miss
//                                with tools/fetch_torch_files.py (the user's own pip)
//   --native-functions=PATH      that yaml
//   --torch-source=DIR           a PyTorch checkout: its yaml, MPSFallback.mm's always-fallback
//                                rows and the MPS registrations of aten/src/ATen/native/mps
//
// LibTorch-free (mpsfb_contract): the harness, the report and the tests call the same function.
#pragma once

#include "contract/verdict.h"

#include <stdexcept>
#include <string>

namespace mpsfb::verdicts {

struct SourceFlags {
  std::string verdict_torch;     // --verdict-torch=VERSION|latest
  std::string native_functions;  // --native-functions=PATH
  std::string torch_source;      // --torch-source=DIR
  // The flag as given ("--verdict-torch=2.15.0"); empty when none was.
  std::string given() const;
};

// Takes `key`=`value` into `flags` when key is one of the three flags (returns false for any
// other key). Throws std::invalid_argument for an empty value, a version that is no release
// (path characters) or a second source flag.
bool take_source_flag(const std::string& key, const std::string& value, SourceFlags& flags);

// The three flags' --help lines.
const char* source_flags_usage();

// What the caller knows of the torch it links (mpsfb_report links none: the run's or the
// user's --torch-version).
struct Linked {
  std::string torch_version;  // "2.13.0+cpu"
  std::string yaml;           // its native_functions.yaml; empty: none, see why_none
  std::string why_none;
};

// How a release missing from the cache is fetched: `python script --version V`.
struct Fetcher {
  std::string python, script;
};

// An explicit --native-functions or --torch-source that cannot be used: a flag error (exit 2).
struct SourceError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// The cache root: $MPSFB_CACHE_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/mps-fallback-bench.
std::string cache_root();

// The Book the flags choose. `program` prefixes the lines it prints to stderr: a release that
// cannot be had falls back to the linked torch, saying so; without any yaml the run goes on with
// unknown verdicts. `context_value`: the yaml read, or "not found: <why>".
Book load_book(const SourceFlags& flags, const Linked& linked, const Fetcher& fetcher, const std::string& program,
               std::string* context_value);

// The parts, for tests: the always-fallback rows of an MPSFallback.mm and the MPS registrations
// of one file ("name.overload" -> line), read by a small scanner (no regular expressions on text
// the project did not write); the commit of a checkout from its .git (empty: none found).
std::vector<std::pair<std::string, int>> mps_fallback_rows(const std::string& text);
std::vector<std::pair<std::string, int>> mps_registrations(const std::string& text);
std::string git_commit(const std::string& dir);
std::string sha256_hex(const std::string& bytes);

}  // namespace mpsfb::verdicts
