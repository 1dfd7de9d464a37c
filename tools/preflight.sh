#!/usr/bin/env bash
# Which of YOUR program's ATen calls would fall back on MPS, on any machine (no Mac needed):
#
#   tools/preflight.sh -- python train.py --epochs 1
#   tools/preflight.sh --out=preflight/eval -- python -m mypkg.eval
#   tools/preflight.sh --steps=5 -- python train.py            # record 5 optimizer steps, then run on unrecorded
#   tools/preflight.sh -- python -m pytest tests/               # one record per test (-p mpsfb_preflight)
#
# Runs the Python program under torch.profiler (CPU, + CUDA when present; shapes and the Python
# stack), writes OUT/trace.json (opens in https://ui.perfetto.dev) and the report beside it with
# mpsfb_report --torch-trace: OUT/report/summary.md, OUT/report/trace_ops.csv, OUT/report/cases.csv,
# OUT/results/<op>.csv (docs/preflight.md). OUT defaults to mpsfb-preflight/<date-time>.
#
# Options before --: --out=DIR, --steps=N (record N optimizer steps, or N tests under pytest),
# --skip-steps=K (start recording after K steps), and these, passed to mpsfb_report:
# --verdict-torch=V|latest, --native-functions=PATH or --torch-source=DIR (judge by that torch),
# --fail-on=LIST, --allow=FILE, --emit-targets=FILE, --copy-model=FILE.
#
# Exit status: the program's when it failed; else mpsfb_report's (1: a call fails the gate, e.g.
# would fall back; 2: bad input). The program's stdout and stderr are its own. Environment:
# MPSFB_REPORT (the mpsfb_report binary; default build/dev, build/ci or build here, else PATH).
# Written for the bash 3.2 that macOS ships.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf 'preflight: %s\n' "$*" >&2; }
usage() {
  sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

out="" steps=0 skip=0
report_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out=*) out=${1#--out=} ;;
    --steps=*|--skip-steps=*)
      v=${1#*=}
      case "$v" in ''|*[!0-9]*) say "$1: expected a whole number of steps"; exit 2 ;; esac
      case "$1" in --steps=*) steps=$v ;; *) skip=$v ;; esac ;;
    --verdict-torch=*|--native-functions=*|--torch-source=*|--fail-on=*|--allow=*|--emit-targets=*|--copy-model=*)
      report_args+=("$1") ;;
    -h|--help) usage ;;
    --) shift; break ;;
    *) say "unknown option $1 (the program's command goes after --)"; usage ;;
  esac
  shift
done
[ $# -gt 0 ] || { say "no command given"; usage; }

# The command must be a Python: "python script.py ...", "python -m mod ...", "python -m pytest ...".
py=$1; shift
case "$(basename "$py")" in
  python*|pypy*) ;;
  *) say "$py: not a Python interpreter; give the command as: python script.py ... or python -m module ..."; exit 2 ;;
esac
command -v "$py" >/dev/null 2>&1 || { say "$py: not found"; exit 2; }
[ $# -gt 0 ] || { say "no script or -m module after $py"; exit 2; }

. "$root/tools/find_report.sh"

[ -n "$out" ] || out="mpsfb-preflight/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out" || { say "cannot create $out"; exit 2; }
trace="$out/trace.json"
rm -f "$trace"
export PYTHONPATH="$root/tools/preflight${PYTHONPATH:+:$PYTHONPATH}"

if [ "$1" = -m ] && [ "${2:-}" = pytest ]; then
  # The plugin records the session, each test in its own scope (one record per test).
  [ "$skip" = 0 ] || { say "--skip-steps is not for pytest runs"; exit 2; }
  MPSFB_PREFLIGHT_TRACE="$trace" MPSFB_PREFLIGHT_STEPS="$steps" "$py" -m pytest -p mpsfb_preflight "${@:3}"
else
  "$py" "$root/tools/preflight/run.py" --trace="$trace" --steps="$steps" --skip-steps="$skip" -- "$@"
fi
status=$?

if [ ! -s "$trace" ]; then
  say "no trace was written (the program exited with status $status before recording ended, or was killed)"
  [ "$status" != 0 ] || status=1
  exit "$status"
fi
[ "$status" = 0 ] || say "the program exited with status $status: the report is PARTIAL (the calls before it stopped)"
"$report" --torch-trace="$trace" --results-dir="$out/results" --summary="$out/report/summary.md" ${report_args[@]+"${report_args[@]}"}
rstatus=$?
say "trace: $trace (open in https://ui.perfetto.dev); report: $out/report/summary.md"
[ "$status" = 0 ] || exit "$status"
exit "$rstatus"
