#!/usr/bin/env bash
# How the published GPU results (docs/results/<gpu>-<date>/) are made, in one place: run on the
# GPU machine after building (e.g. `bash .devdeps/gpu-build.sh bash tools/gpu_results.sh
# /tmp/gpu-build "$OUT"`), then `mpsfb_report` over the JSON it leaves in OUT_DIR.
#   tools/gpu_results.sh BUILD_DIR OUT_DIR
# 1. seed-emulate.json: today's truth: only the ops that fall back on MPS in this torch are
#    emulated; the others run natively.
# 2. seed-emulate-all.json: the requested ops that are native now, emulated anyway: what
#    native support saves (--emulate=all, filtered to the ops whose verdict is native).
# 3. composite.json: YAML-only composite ops, routed at the leaf that lacks an MPS kernel.
set -uo pipefail
build=$1
out=$2
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=$build/mps_benchmarks
seed=ops/targets.seed.yaml
min_time=${MPSFB_MIN_TIME:-0.05}
say() { printf 'gpu_results: %s\n' "$*" >&2; }

"$bin" --device=cuda --targets="$seed" --list-verdicts >"$out/verdicts.json" || exit 2
native=$(python3 -c '
import json, re, sys
ops = [o["op"] for o in json.load(open(sys.argv[1]))["ops"] if o["mps_verdict"] == "native"]
print("op:(" + "|".join(re.escape(o) for o in ops) + ")/")' "$out/verdicts.json")

say "1. seed, emulating what falls back"
start=$(date +%s)
timeout 300 "$bin" --device=cuda --fallback=emulate --targets="$seed" --benchmark_min_time="$min_time" \
  --benchmark_out="$out/seed-emulate.json" --benchmark_out_format=json >>"$out/runs.log" 2>&1
say "   rc=$? in $(($(date +%s) - start)) s"
say "2. requested ops now native, emulated anyway"
start=$(date +%s)
timeout 180 "$bin" --device=cuda --fallback=emulate --emulate=all --targets="$seed" --benchmark_filter="$native" \
  --benchmark_min_time="$min_time" --benchmark_out="$out/seed-emulate-all.json" --benchmark_out_format=json \
  >>"$out/runs.log" 2>&1
say "   rc=$? in $(($(date +%s) - start)) s"
say "3. YAML-only composites"
"$bin" --device=cuda --fallback=emulate --targets=test/data/composite.yaml --benchmark_min_time="$min_time" \
  --benchmark_out="$out/composite.json" --benchmark_out_format=json >>"$out/runs.log" 2>&1
say "   rc=$?"
