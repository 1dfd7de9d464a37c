#!/usr/bin/env bash
# ctest setup_checks: the checks of tools/setup.sh (tools/setup_checks.sh) with any OS, version
# or interpreter, and tools/setup.sh itself on a faked Mac: it must stop with a clear message
# and never call apt-get. Usage: setup_checks_test.sh WORK_DIR
set -uo pipefail
work=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tools/setup_checks.sh
source "$src/tools/setup_checks.sh"
rm -rf "$work" && mkdir -p "$work/bin"
failures=0
check() {
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
not() { ! "$@"; }
contains() { case "$1" in *"$2"*) return 0 ;; *) echo "  got: $1"; return 1 ;; esac; }

check "14.5 >= 14" mpsfb_version_ge 14.5 14
check "14 >= 14" mpsfb_version_ge 14 14
check "15.1.1 >= 14" mpsfb_version_ge 15.1.1 14
check "13.6.9 < 14" not mpsfb_version_ge 13.6.9 14
check "3.10 >= 3.10" mpsfb_version_ge 3.10 3.10
check "3.9 < 3.10 (not a string compare)" not mpsfb_version_ge 3.9 3.10
check "3.12 >= 3.10" mpsfb_version_ge 3.12 3.10

check "macOS 14.5 arm64: fine" mpsfb_macos_check 14.5 arm64 0
check "macOS 15.1 arm64: fine" mpsfb_macos_check 15.1 arm64
msg=$(mpsfb_macos_check 13.6 arm64 0); rc=$?
check "macOS 13.6: refused" [ "$rc" = 1 ]
check "  says macOS 14 is needed" contains "$msg" "macOS 13.6: the arm64 torch 2.13 wheels need macOS 14 (Sonoma) or later"
msg=$(mpsfb_macos_check 14.5 x86_64 0); rc=$?
check "an Intel Mac: refused" [ "$rc" = 1 ]
check "  says why" contains "$msg" "no wheels for Intel Macs"
msg=$(mpsfb_macos_check 14.5 x86_64 1); rc=$?
check "Rosetta: refused" [ "$rc" = 1 ]
check "  says to use an arm64 terminal" contains "$msg" "runs under Rosetta"

# Interpreters that answer with a version: the Command Line Tools' 3.9, a Homebrew 3.12.
fake_python() {
  printf '#!/bin/sh\necho %s\n' "$2" >"$work/bin/$1"
  chmod +x "$work/bin/$1"
}
fake_python python3 3.9
fake_python python3.12 3.12
fake_python python3.10 3.10
check "picks the first >= 3.10" [ "$(PATH="$work/bin:$PATH" mpsfb_pick_python python3 python3.12 python3.10)" = python3.12 ]
msg=$(PATH="$work/bin:/usr/bin:/bin" mpsfb_pick_python python3 python3.99); rc=$?
check "only 3.9: refused" [ "$rc" = 1 ]
check "  names what it found" contains "$msg" "no Python >= 3.10 found (found: python3 (3.9); tried: python3 python3.99)"

# Which torch the .venv gets: the newest release on macOS, 2.13.0 elsewhere, MPSFB_TORCH first.
check "macOS: the newest torch" [ "$(MPSFB_TORCH='' mpsfb_torch_requirement Darwin)" = torch ]
check "Linux: torch==2.13.0 (CI)" [ "$(MPSFB_TORCH='' mpsfb_torch_requirement Linux)" = torch==2.13.0 ]
check "MPSFB_TORCH wins on macOS" [ "$(MPSFB_TORCH=torch==2.14.0 mpsfb_torch_requirement Darwin)" = torch==2.14.0 ]

# MPSFB_PYTHON: an interpreter with its own torch (a nightly), one without, one that is not there.
printf '#!/bin/sh
case "$2" in *torch*) echo 2.16.0.dev20261101 ;; *) echo 3.12 ;; esac
' >"$work/bin/nightly-python"
printf '#!/bin/sh
case "$2" in *torch*) exit 1 ;; *) echo 3.12 ;; esac
' >"$work/bin/bare-python"
chmod +x "$work/bin/nightly-python" "$work/bin/bare-python"
check "MPSFB_PYTHON with torch: its version" [ "$(mpsfb_build_python_check "$work/bin/nightly-python")" = 2.16.0.dev20261101 ]
msg=$(mpsfb_build_python_check "$work/bin/bare-python"); rc=$?
check "MPSFB_PYTHON without torch: refused" [ "$rc" = 1 ]
check "  says so" contains "$msg" "MPSFB_PYTHON=$work/bin/bare-python: it cannot import torch"
msg=$(mpsfb_build_python_check "$work/bin/no-such-python"); rc=$?
check "MPSFB_PYTHON missing: refused" [ "$rc" = 1 ]
check "  says so" contains "$msg" "no such interpreter"

# tools/setup.sh on a faked macOS: a copy of the scripts in a scratch tree (its .venv is the
# scratch one), uname/sw_vers/sysctl faked, apt-get and brew recording any call.
tree="$work/tree"
mkdir -p "$tree/tools" "$work/mac"
cp "$src/tools/setup.sh" "$src/tools/setup_checks.sh" "$tree/tools/"
# shellcheck disable=SC2016  # the fakes' own variables, in all three
{
printf '#!/bin/sh\ncase "$1" in -m) echo arm64 ;; *) echo Darwin ;; esac\n' >"$work/mac/uname"
printf '#!/bin/sh\necho "$MACOS_VERSION"\n' >"$work/mac/sw_vers"
printf '#!/bin/sh\necho 0\n' >"$work/mac/sysctl"
printf '#!/bin/sh\necho "$0 $*" >>"%s/calls"\nexit 0\n' "$work" >"$work/mac/apt-get"
}
cp "$work/mac/apt-get" "$work/mac/brew"
cp "$work/bin/python3" "$work/mac/python3"  # the Command Line Tools' python3: 3.9
chmod +x "$work/mac/"*
# Only the tools setup.sh needs, so no real python3.x on this machine can be picked.
mkdir -p "$work/sys"
for t in awk dirname rm grep sed cat env mkdir; do ln -s "$(command -v "$t")" "$work/sys/$t"; done
mac_path="$work/mac:$work/sys"

bash=$(command -v bash)
out=$(MACOS_VERSION=13.6 PATH="$mac_path" "$bash" "$tree/tools/setup.sh" 2>&1); rc=$?
check "setup.sh on macOS 13.6: exit 1 (got $rc)" [ "$rc" = 1 ]
check "  says macOS 14 is needed" contains "$out" "setup: macOS 13.6: the arm64 torch 2.13 wheels need macOS 14"
out=$(MACOS_VERSION=14.5 PATH="$mac_path" "$bash" "$tree/tools/setup.sh" 2>&1); rc=$?
check "setup.sh on macOS 14.5 with only Python 3.9: exit 1 (got $rc)" [ "$rc" = 1 ]
check "  says Python 3.10 is needed" contains "$out" "setup: no Python >= 3.10 found (found: python3 (3.9)"
check "  says how to get one" contains "$out" "brew install python@3.12"
check "  no .venv was made" [ ! -e "$tree/.venv" ]
out=$(MACOS_VERSION=14.5 MPSFB_PYTHON="$work/bin/bare-python" PATH="$mac_path" "$bash" "$tree/tools/setup.sh" 2>&1); rc=$?
check "setup.sh with an MPSFB_PYTHON that has no torch: exit 1 (got $rc)" [ "$rc" = 1 ]
check "  says why" contains "$out" "setup: MPSFB_PYTHON=$work/bin/bare-python: it cannot import torch"
check "  no .venv was made" [ ! -e "$tree/.venv" ]
check "apt-get was never called on macOS" not grep -q apt-get "$work/calls"
check "brew was asked (the Homebrew path ran)" grep -q "brew list" "$work/calls"

echo "$failures failure(s)"
[ "$failures" = 0 ]
