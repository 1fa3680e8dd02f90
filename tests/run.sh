#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, configures,
# builds and runs ctest. Extra arguments go to ctest, e.g. `-L unit`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
deploy/install-deps.sh --test
preset="${SHOEBOX_PRESET:-release}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"${SHOEBOX_JOBS:-2}"
export PATH="$here/build/tools/node_modules/.bin:$PATH"
cd "build/$preset"
ctest --output-on-failure --timeout 1500 -j"${SHOEBOX_TEST_JOBS:-2}" "$@"
