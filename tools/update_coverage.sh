#!/usr/bin/env bash
# Regenerates ops/mps_coverage.yaml, the MPS coverage history (docs/coverage.md): for each torch
# release, its cache entry (tools/fetch_torch_files.py: the macOS arm64 wheel's native_functions.yaml
# and common_mps.py, their sha256 checked), its UNIMPLEMENTED_XFAILLIST read by Python's own parser
# (tools/coverage/unimplemented.py), then mpsfb_coverage judges every op with the C++ verdict rule.
# Also the `coverage` build target.
#
# Environment: MPSFB_COVERAGE_RELEASES (default 2.6.0 ... 2.15.0, oldest first), MPSFB_WHEELS (a
# folder of torch-<version>-*.whl macOS arm64 wheels: the cache is filled from them, no download),
# MPSFB_CACHE_DIR (the cache, as the fetcher reads it), MPSFB_PYTHON (default .venv/bin/python),
# MPSFB_COVERAGE_BIN (default build/dev/mpsfb_coverage), MPSFB_COVERAGE_OUT (default
# ops/mps_coverage.yaml). Exit 1 with one line when a release cannot be had; nothing is written then.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'update_coverage: %s\n' "$*" >&2; }
py=${MPSFB_PYTHON:-$root/.venv/bin/python}
bin=${MPSFB_COVERAGE_BIN:-$root/build/dev/mpsfb_coverage}
out=${MPSFB_COVERAGE_OUT:-ops/mps_coverage.yaml}
releases=${MPSFB_COVERAGE_RELEASES:-2.6.0 2.7.0 2.8.0 2.9.0 2.10.0 2.11.0 2.12.0 2.13.0 2.14.0 2.15.0}
[ -f tools/fetch_torch_files.py ] || { say "no tools/fetch_torch_files.py (the torch-files cache's fetcher)"; exit 1; }
[ -x "$bin" ] || { say "no mpsfb_coverage at $bin (build it: cmake --build build/dev --target mpsfb_coverage, or set MPSFB_COVERAGE_BIN)"; exit 1; }

lists=$(mktemp -d)
trap 'rm -rf "$lists"' EXIT
args=()
for v in $releases; do
  fetch=("$py" tools/fetch_torch_files.py --version "$v")
  if [ -n "${MPSFB_WHEELS:-}" ]; then
    whl=$(find "$MPSFB_WHEELS" -maxdepth 1 -name "torch-$v-*.whl" | sort | head -n 1)
    [ -n "$whl" ] || { say "no torch-$v-*.whl in $MPSFB_WHEELS"; exit 1; }
    entry=$("${fetch[@]}" --from-wheel "$whl" | tail -n 1) || { say "torch $v: the fetcher failed (its line is above)"; exit 1; }
  # A valid cache entry first (no network), else fetch it; the last stdout line is the entry.
  elif ! entry=$("${fetch[@]}" --offline 2>/dev/null | tail -n 1) || [ -z "$entry" ]; then
    entry=$("${fetch[@]}" | tail -n 1) || { say "torch $v: the fetcher failed (its line is above)"; exit 1; }
  fi
  if [ -f "$entry/common_mps.py" ]; then
    "$py" tools/coverage/unimplemented.py "$entry/common_mps.py" >"$lists/$v.txt"
  fi
  args+=("--release=$entry")
done
"$bin" generate --seed=ops/targets.seed.yaml --map=ops/mps_unimplemented.yaml --lists="$lists" "${args[@]}" --out="$out"
