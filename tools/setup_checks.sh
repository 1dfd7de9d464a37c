# shellcheck shell=bash
# The checks tools/setup.sh makes before it installs anything, as functions of their inputs so
# that test/setup/setup_checks_test.sh can run them with any OS, version or interpreter. Sourced;
# written for the bash 3.2 that macOS ships. Each check prints why it fails on stdout.

# The oldest Python and macOS the default torch (2.13) has wheels for; arm64 only on macOS.
MPSFB_MIN_PYTHON=3.10
MPSFB_MIN_MACOS=14

# mpsfb_version_ge A B: true when dotted version A >= B ("14.5" >= "14", "3.9" < "3.10").
mpsfb_version_ge() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    na = split(a, x, "."); nb = split(b, y, "."); n = na > nb ? na : nb
    for (i = 1; i <= n; i++) { p = (x[i] == "" ? 0 : x[i]) + 0; q = (y[i] == "" ? 0 : y[i]) + 0
      if (p > q) exit 0; if (p < q) exit 1 }
    exit 0 }'
}

# mpsfb_macos_check VERSION ARCH [TRANSLATED]: can this Mac install the torch wheels?
# VERSION from `sw_vers -productVersion`, ARCH from `uname -m`, TRANSLATED from
# `sysctl -n sysctl.proc_translated` (1 when the shell runs under Rosetta).
mpsfb_macos_check() {
  local version=$1 arch=$2 translated=${3:-0}
  if [ "$translated" = 1 ]; then
    echo "this shell runs under Rosetta (x86_64 on an Apple silicon Mac): open a native arm64 terminal, MPS needs the arm64 torch"
    return 1
  fi
  if [ "$arch" != arm64 ]; then
    echo "this Mac is $arch: torch ${MPSFB_TORCH_VERSION:-2.13} has no wheels for Intel Macs (the last was 2.2) and MPS needs Apple silicon"
    return 1
  fi
  case "$version" in
    ''|*[!0-9.]*) echo "cannot tell the macOS version (sw_vers said '$version')"; return 1 ;;
  esac
  if ! mpsfb_version_ge "$version" "$MPSFB_MIN_MACOS"; then
    echo "macOS $version: the arm64 torch ${MPSFB_TORCH_VERSION:-2.13} wheels need macOS $MPSFB_MIN_MACOS (Sonoma) or later; update macOS, or set MPSFB_TORCH to an older torch that supports it"
    return 1
  fi
}

# mpsfb_python_version PYTHON: "3.11" for that interpreter; fails when it does not run.
mpsfb_python_version() {
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

# mpsfb_pick_python [CANDIDATE...]: prints the first interpreter (name or path) whose Python is
# >= MPSFB_MIN_PYTHON; with none, prints what it found and fails.
mpsfb_pick_python() {
  local c v seen=""
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || continue
    v=$(mpsfb_python_version "$c") || continue
    if mpsfb_version_ge "$v" "$MPSFB_MIN_PYTHON"; then
      echo "$c"
      return 0
    fi
    seen="$seen $c ($v)"
  done
  echo "no Python >= $MPSFB_MIN_PYTHON found (${seen:+found:$seen; }tried: $*); torch ${MPSFB_TORCH_VERSION:-2.13} needs it"
  return 1
}

# mpsfb_torch_requirement OS: what pip installs into .venv. MPSFB_TORCH when set; on macOS the
# newest torch release (the verdicts a Mac user gets today); elsewhere torch==2.13.0 (CI, the
# CPU and CUDA wheels the tests are written against).
mpsfb_torch_requirement() {
  if [ -n "${MPSFB_TORCH:-}" ]; then
    echo "$MPSFB_TORCH"
  elif [ "$1" = Darwin ]; then
    echo torch
  else
    echo torch==2.13.0
  fi
}

# mpsfb_build_python_check PYTHON: MPSFB_PYTHON, an interpreter with its own torch (a nightly or
# a source build) that the build links instead of a .venv torch. Prints its torch version, or
# why it cannot be used.
mpsfb_build_python_check() {
  local py=$1 v
  if ! command -v "$py" >/dev/null 2>&1; then
    echo "MPSFB_PYTHON=$py: no such interpreter"
    return 1
  fi
  if ! v=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null) || [ -z "$v" ]; then
    echo "MPSFB_PYTHON=$py: it cannot import torch (install a nightly or build PyTorch into it, or unset MPSFB_PYTHON for a .venv torch)"
    return 1
  fi
  echo "$v"
}
