#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build/fuzz) and runs each for
# SECONDS (default 60), keeping inputs that reach new coverage in
# tests/fuzz/corpus/<target>/. Crashes land in build/fuzz/crashes/.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
secs="${1:-60}"; shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(blob_open sealbox_open relative_path config_parse chunker_split \
  agent_requests worker_requests admin_requests put_chunks)
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (apt-get install clang)" >&2; exit 2; }
CC=clang CXX=clang++ cmake -S "$here" -B "$here/build/fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
  -DSHOEBOX_FUZZ=ON -DSHOEBOX_BUILD_TESTS=OFF -DSHOEBOX_BUILD_BENCH=OFF >/dev/null
cmake --build "$here/build/fuzz" -j2 --target "${targets[@]/#/fuzz_}" >/dev/null
mkdir -p "$here/build/fuzz/crashes"
rc=0
for t in "${targets[@]}"; do
  corpus="$here/tests/fuzz/corpus/$t"
  mkdir -p "$corpus"
  echo "fuzz: $t for ${secs}s"
  "$here/build/fuzz/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=65536 \
    -artifact_prefix="$here/build/fuzz/crashes/$t-" "$corpus" 2>"$here/build/fuzz/$t.log" || {
      echo "fuzz: $t FAILED, see $here/build/fuzz/$t.log and build/fuzz/crashes/" >&2; rc=1; }
  tail -n 2 "$here/build/fuzz/$t.log"
done
exit $rc
