#!/usr/bin/env bash
# The fault-injection suite (docs/reliability.md).
#   tests/faults/run.sh            the short run: ctest -L faults (as .ci/run does)
#   tests/faults/run.sh --long     every scenario long: kill9 with 200 kills,
#                                  coordinator down 3 min, ...; results as JSON
#                                  lines in build/release/faults-long.jsonl
#   tests/faults/run.sh --long --kills N --seed S   other figures, same seed = same faults
# Builds build/release first (as tests/run.sh does).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
long=0; kills=200; seed=$(date +%s)
while [[ $# -gt 0 ]]; do
  case $1 in
    --long) long=1 ;;
    --kills) kills=$2; shift ;;
    --seed) seed=$2; shift ;;
    *) echo "usage: tests/faults/run.sh [--long [--kills N] [--seed S]]" >&2; exit 2 ;;
  esac
  shift
done
cd "$here"
preset="${SHOEBOX_PRESET:-release}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"${SHOEBOX_JOBS:-2}" --target shoebox-agent shoebox-coordinator \
  shoebox-worker shoebox shoebox_faketime
export PATH="$here/build/tools/node_modules/.bin:$PATH"
if [[ $long == 0 ]]; then
  cd "build/$preset" && exec ctest --output-on-failure -L faults
fi
export FAULTS_RESULTS="$here/build/$preset/faults-long.jsonl"
rc=0
python3 tests/faults/faults.py "build/$preset" kill9 --long --kills "$kills" --seed "$seed" || rc=1
for s in handshake postgres coordinator_down store_full dest_full partition bitflip clock; do
  python3 tests/faults/faults.py "build/$preset" "$s" --long --kills 50 --seed "$seed" || {
    r=$?; [[ $r == 77 ]] || rc=1; }
done
echo "results: $FAULTS_RESULTS"
exit $rc
