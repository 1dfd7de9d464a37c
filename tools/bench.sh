#!/usr/bin/env bash
# README command 1: set up, build, run the suite on the best device found over the targets
# (ops/targets.yaml, else the seed), writing results/run.json, then the report:
# results/<op>.csv, report/summary.md (+ PNGs where matplotlib is present) and, on a
# device, this machine's status per op in ops/targets.status.yaml. Extra arguments go to
# mps_benchmarks, e.g. --benchmark_filter=op:aten::roll/ or --fallback=emulate.
# MPSFB_PRESET picks the preset (default dev) and with it the build folder build/<preset>.
# The MPS verdicts are those of the newest torch release (--verdict-torch=latest, its files fetched
# once into the cache; MPSFB_VERDICT_TORCH=2.15.0 names one, e.g. offline), unless the arguments
# name a verdict source (--verdict-torch, --native-functions, --torch-source). Offline with no
# cached release, mps_benchmarks says so and judges with the linked torch.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
preset=${MPSFB_PRESET:-dev}
MPSFB_PRESET=$preset source "$root/tools/setup.sh"
build=build/$preset
cmake --build --preset "$preset"
mkdir -p results
verdict=(--verdict-torch="${MPSFB_VERDICT_TORCH:-latest}")
for a in "$@"; do
  case "$a" in --verdict-torch*|--native-functions*|--torch-source*) verdict=() ;; esac
done
"./$build/mps_benchmarks" --benchmark_out=results/run.json --benchmark_out_format=json ${verdict[@]+"${verdict[@]}"} "$@"
echo "bench: wrote results/run.json" >&2
cmake --build "$build" --target report
# Record which ops fall back on this torch/OS/device beside the targets (CPU runs can't tell).
{ read -r device; read -r targets; } < <(.venv/bin/python -c \
  'import json; c = json.load(open("results/run.json"))["context"]; print(c["device"]); print(c["targets"])')
if [ "$device" != cpu ]; then
  "./$build/mpsfb_report" --update-targets "$targets" results/run.json
fi
echo "bench: report in report/summary.md, per-op CSVs in results/" >&2
