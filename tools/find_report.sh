# Sourced by tools/profile_run.sh and tools/preflight.sh: sets `report` to the mpsfb_report they
# run, MPSFB_REPORT if set, else the one built in build/dev, build/ci or build of this
# repository ($root), else the one on PATH; says how to get one and exits 2 when there is none.
# Needs `root` and `say` from the script that sources it.
report=${MPSFB_REPORT:-}
if [ -z "$report" ]; then
  for b in "$root/build/dev" "$root/build/ci" "$root/build"; do
    if [ -x "$b/mpsfb_report" ]; then report="$b/mpsfb_report"; break; fi
  done
  [ -n "$report" ] || report=$(command -v mpsfb_report || true)
fi
if [ -z "$report" ] || [ ! -x "$report" ]; then
  say "mpsfb_report not found (build it: bash tools/bench.sh, or cmake --build --preset dev --target mpsfb_report; or set MPSFB_REPORT)"
  exit 2
fi
