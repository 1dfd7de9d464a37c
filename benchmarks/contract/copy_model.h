// A copy model file (--copy-model=FILE, e.g. ops/copy_model.apple-m-series.yaml): per copy a
// fixed latency and a bandwidth, each way, and one empty synchronize. LibTorch-free (in mpsfb_files,
// beside the reader every input file goes through), so the
// harness (its floor_us) and mpsfb_report --torch-trace (the Mac cost of a fallback) read the
// file with one loader. Format: docs/measurement-model.md ("The copy model").
#pragma once

#include <string>

namespace mpsfb::copy_model {

struct Figures {
  double h2d_bytes_per_us = 0, d2h_bytes_per_us = 0;  // GB/s in the file (1 GB/s = 1e3 bytes per µs)
  double h2d_latency_us = 0, d2h_latency_us = 0, sync_us = 0;
  std::string name;    // the file's name:, else its stem
  std::string source;  // the path and its sources:
};

// Throws std::runtime_error "FILE:LINE:COLUMN: what (expected: ...)" for a missing file,
// malformed YAML, a missing, unknown or invalid key.
Figures load(const std::string& path);

}  // namespace mpsfb::copy_model
