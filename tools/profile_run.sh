#!/usr/bin/env bash
# How much of YOUR program's run goes to MPS CPU fallbacks, from PyTorch's own MPS profiler:
#
#   tools/profile_run.sh python train.py --epochs 1
#   tools/profile_run.sh --out=profiles/eval -- python -m mypkg.eval
#
# Runs the command with PYTORCH_ENABLE_MPS_FALLBACK=1 and PYTORCH_MPS_LOG_PROFILE_INFO with the
# CPU-fallback bits (4 per call, 64 the table at exit, 128 per-call times; other bits already set
# are kept), times it, keeps its stderr (it is still shown) in OUT/stderr.log, and writes the
# report: OUT/report/summary.md, OUT/report/fallback_ops.csv, OUT/results/<op>.csv
# (docs/reports.md, "A profiler log"). OUT defaults to mpsfb-profile/<date-time>.
#
# Environment: MPSFB_REPORT (the mpsfb_report binary; default the one in build/dev, build/ci or
# build of this repository, else on PATH), MPSFB_TARGETS (demand; default ops/targets.yaml, else the seed),
# MPSFB_PYTHON (the interpreter whose torch the static verdicts come from; default the command
# itself when it is a Python, else python3). Exit status: the command's (130 when interrupted: the
# report of what it logged is still written); 2 for a usage error or a report that failed.
# Written for the bash 3.2 that macOS ships.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf 'profile_run: %s\n' "$*" >&2; }
usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out=*) out=${1#--out=}; shift ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { say "no command given"; usage; }
[ -n "$out" ] || out="mpsfb-profile/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out" || { say "cannot create $out"; exit 2; }
log="$out/stderr.log"

. "$root/tools/find_report.sh"

# Seconds since the epoch with sub-second digits: bash 5's EPOCHREALTIME, else perl (macOS has it).
now() {
  if [ -n "${EPOCHREALTIME:-}" ]; then printf '%s\n' "${EPOCHREALTIME/,/.}"
  elif command -v perl >/dev/null; then perl -MTime::HiRes=time -e 'printf "%.6f\n", time'
  else date +%s; fi
}

# The profiler reads its variable once, when torch first uses MPS; the fallback variable is read
# when torch loads. Both must be in the environment the program starts with.
# A bitmask in decimal (up to 9 digits) or hex (0x and up to 8 digits), read as such: bash's own
# arithmetic takes 08 for bad octal, ffff for a variable's name, and wraps at 2^63.
user_bits=${PYTORCH_MPS_LOG_PROFILE_INFO:-0}
case "$user_bits" in
  0[xX]*) hex=${user_bits#0[xX]}
    case "$hex" in
      ''|*[!0-9a-fA-F]*|?????????*) bits_ok="" ;;
      *) bits_ok=1; user_bits=$(( 16#$hex )) ;;
    esac ;;
  ''|*[!0-9]*|??????????*) bits_ok="" ;;
  *) bits_ok=1; user_bits=$(( 10#$user_bits )) ;;
esac
if [ -z "$bits_ok" ]; then
  say "PYTORCH_MPS_LOG_PROFILE_INFO=${PYTORCH_MPS_LOG_PROFILE_INFO} is not a number (a bitmask such as 196 or 0xc4)"
  exit 2
fi
bits=$(( user_bits | 4 | 64 | 128 ))
if [ "${PYTORCH_ENABLE_MPS_FALLBACK:-}" = 0 ]; then
  say "PYTORCH_ENABLE_MPS_FALLBACK=0 in your environment: set to 1 for this run, so ops without an MPS kernel fall back (and are measured) instead of raising"
fi
say "running: $* (PYTORCH_ENABLE_MPS_FALLBACK=1 PYTORCH_MPS_LOG_PROFILE_INFO=$bits); stderr kept in $log"
t0=$(now)
# Ctrl-C (SIGINT, sent to the whole foreground group) stops the program, not the report: this
# shell and tee ignore it while the program runs (tee inherits that from its start, so the log
# keeps every line written), the program's side of the pipe takes it as usual, and what it
# logged until then is reported. SIGTERM, sent to one process, keeps its usual meaning.
trap '' INT
# stderr through tee (still shown, and kept), stdout untouched.
{
  (trap - INT; exec env PYTORCH_ENABLE_MPS_FALLBACK=1 PYTORCH_MPS_LOG_PROFILE_INFO="$bits" "$@") 2>&1 1>&3 3>&- |
    tee "$log" 1>&2 3>&-
  status=${PIPESTATUS[0]}
} 3>&1
trap - INT
t1=$(now)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { w = b - a; if (w <= 0) w = 0.001; printf "%.3f", w }')
if [ "$status" = 130 ]; then
  say "interrupted (status $status): reporting what the command logged until then"
elif [ "$status" != 0 ]; then
  say "the command exited with status $status; reporting what it logged"
fi
say "wall time ${wall} s"

# The static verdicts of the torch the program ran: its version and its native_functions.yaml.
py=${MPSFB_PYTHON:-}
if [ -z "$py" ]; then
  case "$(basename "$1")" in python*) py=$1 ;; *) py=python3 ;; esac
fi
ask_torch='import os, torch
print(torch.__version__)
try:
    import torchgen
    print(os.path.join(os.path.dirname(torchgen.__file__), "packaged", "ATen", "native", "native_functions.yaml"))
except ImportError:
    print("")
print(int(bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())))'
torch_info=$("$py" -c "$ask_torch" 2>/dev/null) || torch_info=""
torch_version=$(printf '%s\n' "$torch_info" | sed -n 1p)
yaml=$(printf '%s\n' "$torch_info" | sed -n 2p)
mps=$(printf '%s\n' "$torch_info" | sed -n 3p)
args=(--mps-log="$log" --wall-s="$wall" --results-dir="$out/results" --summary="$out/report/summary.md")
if [ -n "$torch_version" ] && [ -n "$yaml" ] && [ -f "$yaml" ]; then
  args+=(--native-functions="$yaml" --torch-version="$torch_version")
else
  say "no static verdicts: could not ask $py for its torch and native_functions.yaml (set MPSFB_PYTHON)"
fi
targets=${MPSFB_TARGETS:-}
if [ -z "$targets" ]; then
  if [ -f "$root/ops/targets.yaml" ]; then targets="$root/ops/targets.yaml"; else targets="$root/ops/targets.seed.yaml"; fi
fi
[ -f "$targets" ] && args+=(--targets="$targets")

if ! "$report" "${args[@]}"; then
  say "the report failed (above); the log is kept in $log: once fixed, report it with"
  say "  $report --mps-log=$log --wall-s=$wall --results-dir=$out/results --summary=$out/report/summary.md"
  exit 2
fi

if grep -q 'CPU Fallback::\|CPU Fallback Profiling: Total' "$log"; then
  say "CPU fallbacks found: the Top fallback table of $out/report/summary.md ranks them"
elif grep -q 'There are no CPU Fallbacks logged for profiling' "$log"; then
  say "no CPU fallbacks: the MPS profiler ran and logged none; every op of this run has an MPS kernel"
else
  why="the run did not use the MPS device"
  [ "$mps" = 0 ] && why="$why (torch ${torch_version:-?} says MPS is not available here)"
  [ -z "$mps" ] && why="$why, or the program is not Python/torch"
  say "no CPU fallbacks: no MPS profiler lines were seen in the log; $why"
fi
say "report: $out/report/summary.md (per op: $out/results/, all ops: $out/report/fallback_ops.csv; log: $log)"
exit "$status"
