#!/usr/bin/env bash
# README command 2: set up, build, and run every test (GoogleTest and pytest) under ctest.
# MPSFB_PRESET picks the preset (default ci; asan: the same under ASan + UBSan), and with it the
# build folder build/<preset>.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
preset=${MPSFB_PRESET:-ci}
MPSFB_PRESET=$preset source "$root/tools/setup.sh"
cmake --build --preset "$preset"
ctest --preset "$preset"
