#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent: the C++ libraries (apt on Debian/Ubuntu,
# Homebrew on macOS), a virtual environment .venv with torch and the Python tools, and a
# configured build folder. Sourced by tools/bench.sh and tools/test.sh.
#
# Checks first, with what to do when they fail: on macOS an arm64 Mac (not Rosetta) on macOS 14
# or later (torch 2.13's arm64 wheels); everywhere a Python >= 3.10 for the venv (the Command Line
# Tools' python3 is 3.9). apt is only ever called on Linux.
#
# Environment: MPSFB_TORCH (default: on macOS the newest torch release, elsewhere torch==2.13.0),
# MPSFB_TORCH_INDEX_URL (e.g. the CPU wheel index on a GitHub runner), MPSFB_PYTHON (build against
# that interpreter's own torch, a nightly or a source build: no .venv torch is installed; the
# Python tools are installed into it where missing), MPSFB_PRESET (default dev), PYTHON (the
# interpreter for the venv; default the first of python3, python3.13, python3.12, python3.11,
# python3.10 that is >= 3.10).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'setup: %s\n' "$*" >&2; }
# shellcheck source=tools/setup_checks.sh
source "$root/tools/setup_checks.sh"
os=$(uname -s)
torch_req=$(mpsfb_torch_requirement "$os")
build_python=""
if [ -n "${MPSFB_PYTHON:-}" ]; then
  if ! build_torch=$(mpsfb_build_python_check "$MPSFB_PYTHON"); then say "$build_torch"; exit 1; fi
  build_python=$(command -v "$MPSFB_PYTHON")
  say "MPSFB_PYTHON: building against torch $build_torch of $build_python (no .venv torch)"
fi

if [ "$os" = Darwin ]; then
  translated=$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)
  if ! why=$(mpsfb_macos_check "$(sw_vers -productVersion)" "$(uname -m)" "$translated"); then
    if [ -z "${MPSFB_TORCH:-}" ]; then say "$why"; exit 1; fi
    say "warning: $why (going on: MPSFB_TORCH=$MPSFB_TORCH)"
  fi
  command -v brew >/dev/null || { say "Homebrew is required on macOS (https://brew.sh)"; exit 1; }
  for f in cmake ninja google-benchmark yaml-cpp googletest nlohmann-json; do
    brew list --formula "$f" >/dev/null 2>&1 || brew install "$f"
  done
elif command -v apt-get >/dev/null; then
  pkgs="cmake ninja-build g++ libbenchmark-dev libbenchmark-tools libyaml-cpp-dev libgtest-dev nlohmann-json3-dev"
  missing=""
  for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    say "installing${missing}"
    $sudo apt-get update -qq
    # shellcheck disable=SC2086  # one word per package
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
  fi
else
  say "no apt-get or brew: install CMake, Ninja, Google Benchmark, yaml-cpp, GoogleTest and nlohmann-json yourself"
fi

if [ -n "$build_python" ]; then
  # Its own torch; the tools' packages only where it lacks them (pip leaves torch alone).
  if ! "$build_python" -c 'import yaml, requests, pytest' 2>/dev/null; then
    say "installing tools/requirements.txt into $build_python"
    "$build_python" -m pip install -q -r tools/requirements.txt
  fi
else
  # One interpreter for everything Python: torch (LibTorch discovery), CMake's custom targets,
  # pytest. It lives in .venv, so neither pyenv's nor the system's python3 packages matter.
  if [ -x .venv/bin/python ]; then
    v=$(mpsfb_python_version .venv/bin/python || echo "?")
    if ! mpsfb_version_ge "$v" "$MPSFB_MIN_PYTHON" 2>/dev/null; then
      say "the existing .venv has Python $v; $torch_req needs Python >= $MPSFB_MIN_PYTHON: remove it (rm -rf .venv) and run again, with PYTHON=/path/to/python3.12 if your python3 is older"
      exit 1
    fi
  else
    if [ -n "${PYTHON:-}" ]; then
      candidates=$PYTHON
    else
      candidates="python3 python3.13 python3.12 python3.11 python3.10"
    fi
    # shellcheck disable=SC2086  # one word per candidate
    if ! py=$(mpsfb_pick_python $candidates); then
      say "$py"
      if [ "$os" = Darwin ]; then
        say "install one (brew install python@3.12, or python.org) and run again, e.g. PYTHON=\$(brew --prefix)/bin/python3.12 bash tools/setup.sh"
      else
        say "install one (e.g. apt-get install python3.11-venv, or pyenv) and run again with PYTHON=/path/to/python3"
      fi
      exit 1
    fi
    say "creating .venv with $py (Python $(mpsfb_python_version "$py"))"
    if ! "$py" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      if [ "$os" = Linux ] && command -v apt-get >/dev/null; then
        # Debian and Ubuntu ship venv separately; a pyenv or python.org Python has it built in.
        pkg="python$(mpsfb_python_version "$py")-venv"
        say "$py -m venv failed; installing $pkg"
        sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null
        "$py" -m venv .venv
      else
        say "$py -m venv failed: use a Python with venv and ensurepip (brew install python@3.12, or python.org), e.g. PYTHON=/path/to/python3.12"
        exit 1
      fi
    fi
  fi
  if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
    say "installing $torch_req"
    .venv/bin/pip install -q ${MPSFB_TORCH_INDEX_URL:+--index-url "$MPSFB_TORCH_INDEX_URL"} "$torch_req"
  fi
  .venv/bin/pip install -q -r tools/requirements.txt
  # The preflight's real packages, without their dependencies: never another torch (the file says why).
  .venv/bin/pip install -q --no-deps -r tools/preflight/requirements.txt
fi

preset=${MPSFB_PRESET:-dev}
# Configure quietly, but say which LibTorch CMake took (cmake/Dependencies.cmake says why).
py=${build_python:-.venv/bin/python}
cmake --preset "$preset" ${build_python:+-DPython3_EXECUTABLE="$build_python"} | { grep -E '^-- LibTorch ' >&2 || true; }
say "ready: torch $("$py" -c 'import torch; print(torch.__version__)'), build folder build/$preset (preset $preset)"
