#!/usr/bin/env bash
# How the published GPU results (docs/results/<gpu>-<date>/) are made, in one place: run on the
# GPU machine after building (e.g. `bash .devdeps/gpu-build.sh bash tools/gpu_results.sh
# /tmp/gpu-build "$OUT"`), then `mpsfb_report` and `tools/compare_runs.py` over the JSON it
# leaves in OUT_DIR. Every run is at the defaults (adaptive stopping) unless MPSFB_MIN_TIME is set.
#   tools/gpu_results.sh BUILD_DIR OUT_DIR
# 1. seed-emulate.json: today's truth: only the ops that fall back on MPS in this torch are
#    emulated; the others run natively.
# 2. seed-emulate-2.json: the same run again, back to back: how reproducible the numbers are.
# 3. seed-emulate-all.json: the requested ops that are native now, emulated anyway: what
#    native support saves (--emulate=all, filtered to the ops whose verdict is native).
# 4. composite.json: YAML-only composite ops, routed at the leaf that lacks an MPS kernel.
# MPSFB_VERDICT (e.g. --verdict-torch=2.15.0) chooses the torch that judges, and so what is
# emulated, whatever torch the machine links (carry the cache entry: MPSFB_CACHE_DIR).
# MPSFB_RUNS (default "seed-emulate seed-emulate-2 seed-emulate-all composite") picks the runs.
set -uo pipefail
build=$1
out=$2
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=$build/mps_benchmarks
seed=ops/targets.seed.yaml
min_time=()
[ -n "${MPSFB_MIN_TIME:-}" ] && min_time=(--benchmark_min_time="$MPSFB_MIN_TIME")
verdict=()
[ -n "${MPSFB_VERDICT:-}" ] && verdict=("$MPSFB_VERDICT")
runs=" ${MPSFB_RUNS:-seed-emulate seed-emulate-2 seed-emulate-all composite} "
say() { printf 'gpu_results: %s\n' "$*" >&2; }
# run NAME TIMEOUT ARGS...: one mps_benchmarks run writing OUT/NAME.json, its wall time logged.
run() {
  local name=$1 limit=$2 start
  shift 2
  [[ $runs == *" $name "* ]] || return 0
  say "$name: $*"
  start=$(date +%s)
  timeout "$limit" "$bin" --device=cuda "${verdict[@]}" "$@" "${min_time[@]}" --benchmark_out="$out/$name.json" \
    --benchmark_out_format=json >>"$out/runs.log" 2>&1
  say "$name: exit $? in $(($(date +%s) - start)) s wall"
}

"$bin" --device=cuda "${verdict[@]}" --targets="$seed" --list-verdicts >"$out/verdicts.json" || exit 2
native=$(python3 -c '
import json, re, sys
ops = [o["op"] for o in json.load(open(sys.argv[1]))["ops"] if o["mps_verdict"] == "native"]
print("op:(" + "|".join(re.escape(o) for o in ops) + ")/")' "$out/verdicts.json")

run seed-emulate 240 --fallback=emulate --targets="$seed"
run seed-emulate-2 240 --fallback=emulate --targets="$seed"
run seed-emulate-all 150 --fallback=emulate --emulate=all --targets="$seed" --benchmark_filter="$native"
run composite 60 --fallback=emulate --targets=test/data/composite.yaml
