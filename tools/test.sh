#!/usr/bin/env bash
# README command 2: set up, build, and run every test (GoogleTest and pytest) under ctest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MPSFB_PRESET=${MPSFB_PRESET:-ci} source "$root/tools/setup.sh"
cmake --build build
ctest --preset "${MPSFB_PRESET:-ci}"
