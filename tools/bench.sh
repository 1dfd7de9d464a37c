#!/usr/bin/env bash
# README command 1: set up, build, and run the suite on the best device found over the
# targets (ops/targets.yaml, else the seed), writing results/run.json. Extra arguments go to
# mps_benchmarks, e.g. --benchmark_filter=op:aten::roll/ or --fallback=emulate.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/tools/setup.sh"
cmake --build build
mkdir -p results
./build/mps_benchmarks --benchmark_out=results/run.json --benchmark_out_format=json "$@"
echo "bench: wrote results/run.json" >&2
