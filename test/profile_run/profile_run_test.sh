#!/usr/bin/env bash
# ctest profile_run: tools/profile_run.sh end to end. On this machine (no MPS) with a small torch
# program, which must be reported as "no CPU fallbacks"; with a "program" that prints a recorded
# MPS profiler log to stderr (test/report/data/mps_log), which must be ranked; exit statuses.
# Usage: profile_run_test.sh MPSFB_REPORT PYTHON WORK_DIR
set -uo pipefail
report=$1 python=$2 work=$3
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
run="$src/tools/profile_run.sh"
rm -rf "$work" && mkdir -p "$work"
export MPSFB_REPORT=$report MPSFB_PYTHON=$python MPSFB_TARGETS=$src/test/report/data/mps_log/targets.yaml
failures=0
check() {  # check WHAT CONDITION...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
has() { grep -qF -- "$2" "$1"; }
hasnt() { ! grep -qF -- "$2" "$1"; }

# 1. A small torch program. Without a working MPS (this machine, GitHub's virtual Macs) it runs
# on the CPU and nothing can fall back; on a Mac with MPS, torch.linalg.eig falls back.
"$run" --out="$work/cpu" -- "$python" "$src/test/profile_run/tiny_program.py" >"$work/cpu.out" 2>"$work/cpu.err"
rc=$?
check "the program's run exits 0 (got $rc)" [ "$rc" = 0 ]
if grep -q "tiny: device mps" "$work/cpu.out"; then
  check "on MPS: fallbacks found" has "$work/cpu.err" "profile_run: CPU fallbacks found"
  # shellcheck disable=SC2016  # backquotes of Markdown
  check "on MPS: linalg_eig ranked" has "$work/cpu/report/summary.md" '`aten::linalg_eig`'
else
  check "without MPS: says there were no fallbacks" has "$work/cpu.err" "profile_run: no CPU fallbacks: no MPS profiler lines were seen in the log"
  check "without MPS: the summary says none were seen" has "$work/cpu/report/summary.md" "No CPU fallbacks seen: the log has no MPS profiler lines"
fi
check "the program's stdout passes through" has "$work/cpu.out" "tiny: done"
check "its stdout is not in the log" hasnt "$work/cpu/stderr.log" "tiny: done"
check "its stderr is shown" has "$work/cpu.err" "tiny: this line goes to stderr"
check "its stderr is kept" has "$work/cpu/stderr.log" "tiny: this line goes to stderr"
check "the wall time is printed" grep -qE "profile_run: wall time [0-9]+\.[0-9]{3} s" "$work/cpu.err"
check "the report is named" has "$work/cpu.err" "profile_run: report: $work/cpu/report/summary.md"

# 2. The command's exit status is the script's, and the report is still written.
"$run" --out="$work/fail" "$python" "$src/test/profile_run/tiny_program.py" 3 >/dev/null 2>"$work/fail.err"
rc=$?
check "a failing command's status comes back (got $rc)" [ "$rc" = 3 ]
check "the report of a failed run is written" [ -f "$work/fail/report/summary.md" ]

# 3. A program whose stderr is a recorded profiler log of torch 2.13 on a Mac (with noise).
# shellcheck disable=SC2016  # $0 is the inner shell's
"$run" --out="$work/mac" -- bash -c 'cat "$0" >&2' "$src/test/report/data/mps_log/torch-2.13.log" >/dev/null 2>"$work/mac.err"
rc=$?
check "recorded log: exits 0 (got $rc)" [ "$rc" = 0 ]
check "recorded log: fallbacks found" has "$work/mac.err" "profile_run: CPU fallbacks found"
# shellcheck disable=SC2016  # backquotes of Markdown
check "recorded log: ranked first" has "$work/mac/report/summary.md" '| 1 | `aten::_ctc_loss_backward` | 30 | 65.8 | 2.19 |'
check "recorded log: static verdicts of the venv's torch" has "$work/mac/report/summary.md" "static verdict (torch 2."
check "recorded log: demand from MPSFB_TARGETS" has "$work/mac/report/summary.md" "| 38 | [1](https://github.com/pytorch/pytorch/issues/154052)"
check "recorded log: per-op CSV" [ -f "$work/mac/results/aten__linalg_eig.csv" ]

# 4. Usage errors: exit 2, nothing run.
"$run" --out="$work/none" >/dev/null 2>"$work/usage.err"
rc=$?
check "no command: exit 2 (got $rc)" [ "$rc" = 2 ]
PYTORCH_MPS_LOG_PROFILE_INFO=lots "$run" --out="$work/bits" true >/dev/null 2>"$work/bits.err"
rc=$?
check "a bitmask that is not a number: exit 2 (got $rc)" [ "$rc" = 2 ]
check "  and says so" has "$work/bits.err" "PYTORCH_MPS_LOG_PROFILE_INFO=lots is not a number"

# 5. Bitmasks read as numbers, never as bash arithmetic (08 was bad octal, ffff a variable).
for bad in 08x ffff x 1e3 12345678901234567890 0x 0x123456789; do
  PYTORCH_MPS_LOG_PROFILE_INFO=$bad "$run" --out="$work/bits" true >/dev/null 2>"$work/bits.err"
  rc=$?
  check "bitmask $bad: exit 2 (got $rc)" [ "$rc" = 2 ]
  check "  and says so" has "$work/bits.err" "PYTORCH_MPS_LOG_PROFILE_INFO=$bad is not a number"
done
for good in 08:204 0xff:255 196:196; do  # value:bits, the fallback bits (4 | 64 | 128) or-ed in
  PYTORCH_MPS_LOG_PROFILE_INFO=${good%:*} "$run" --out="$work/bits_${good%:*}" true >/dev/null 2>"$work/bits.err"
  rc=$?
  check "bitmask ${good%:*}: runs (got $rc)" [ "$rc" = 0 ]
  check "  with bits ${good#*:}" has "$work/bits.err" "PYTORCH_MPS_LOG_PROFILE_INFO=${good#*:})"
done

# 6. Ctrl-C (SIGINT to the process group, in a group of its own here): the log so far is
# reported, the hint says so, the exit status is 130.
if command -v setsid >/dev/null; then
  # shellcheck disable=SC2016  # $0 is the inner shell's
  setsid "$run" --out="$work/int" -- bash -c 'cat "$0" >&2; kill -INT 0; sleep 5' \
    "$src/test/report/data/mps_log/torch-2.13.log" >/dev/null 2>"$work/int.err"
  rc=$?
  check "interrupted: exit 130 (got $rc)" [ "$rc" = 130 ]
  check "interrupted: says it reports what was logged" has "$work/int.err" "profile_run: interrupted"
  check "interrupted: the report is written" has "$work/int/report/summary.md" '`aten::_ctc_loss_backward`'
fi

echo "$failures failure(s)"
[ "$failures" = 0 ]
