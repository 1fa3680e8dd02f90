#!/usr/bin/env bash
# First backup and unchanged rescan: shoebox-agent vs `restic backup` (Debian
# restic), side by side in one run on the same tree and disk. Record a run in
# bench/results/ by hand (see its README) and update docs/performance.md
# ("Agent"); quote medians and ratios.
#
#   bench/compare_backup.sh [build-dir] [--library-mb N] [--small-files N] [--rounds N]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build/release}"
shift || true
command -v restic >/dev/null || { echo "restic is not installed (apt-get install restic)" >&2; exit 1; }
cmake --build "$build" --target shoebox-agent agent_bench -j"${SHOEBOX_JOBS:-2}" >/dev/null
"$build/bench/agent_bench" --agent "$build/agent/shoebox-agent" --library-mb 1024 --small-files 100000 \
  --rounds 3 "$@" 2>&1 | grep -v '^\[20' | grep -v '^DEBUG'
