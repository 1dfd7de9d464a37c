#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent: the C++ libraries (apt on Debian/Ubuntu,
# Homebrew on macOS), a virtual environment .venv with torch and the Python tools, and a
# configured build folder. Sourced by tools/bench.sh and tools/test.sh.
#
# Environment: MPSFB_TORCH (default torch==2.13.0), MPSFB_TORCH_INDEX_URL (e.g. the CPU wheel
# index on a GitHub runner), MPSFB_PRESET (default dev), PYTHON (the interpreter for the venv).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(uname -s)" = Darwin ]; then
  command -v brew >/dev/null || { say "Homebrew is required on macOS (https://brew.sh)"; exit 1; }
  for f in cmake ninja google-benchmark yaml-cpp googletest nlohmann-json; do
    brew list --formula "$f" >/dev/null 2>&1 || brew install "$f"
  done
elif command -v apt-get >/dev/null; then
  pkgs="cmake ninja-build g++ libbenchmark-dev libbenchmark-tools libyaml-cpp-dev libgtest-dev nlohmann-json3-dev"
  missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    say "installing $(echo $missing)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
  fi
else
  say "no apt-get or brew: install CMake, Ninja, Google Benchmark, yaml-cpp, GoogleTest and nlohmann-json yourself"
fi

# One interpreter for everything Python: torch (LibTorch discovery), CMake's custom targets,
# pytest. It lives in .venv, so neither pyenv's nor Debian's python3 packages matter.
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv 2>/dev/null || {
    say "python3 -m venv failed; using Debian's /usr/bin/python3 with python3-venv"
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    /usr/bin/python3 -m venv .venv
  }
fi
torch_req=${MPSFB_TORCH:-torch==2.13.0}
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  say "installing $torch_req"
  .venv/bin/pip install -q ${MPSFB_TORCH_INDEX_URL:+--index-url "$MPSFB_TORCH_INDEX_URL"} "$torch_req"
fi
.venv/bin/pip install -q -r tools/requirements.txt

preset=${MPSFB_PRESET:-dev}
cmake --preset "$preset" >/dev/null
say "ready: torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'), build folder build/$preset (preset $preset)"
