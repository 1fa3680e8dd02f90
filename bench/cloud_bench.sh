#!/usr/bin/env bash
# Delivery to the three cloud drives under a request budget (issue 19,
# docs/performance.md "Cloud drives under a request budget").
#
#   bench/cloud_bench.sh [--photos N] [--videos M] [--budget B] [--window S]
#                        [--kinds "dropbox onedrive gdrive"] [--build DIR]
#
# For each kind: the stack of tests/e2e/drive_stack.sh (PostgreSQL,
# coordinator, one worker with 2 jobs at a time, the local server of the
# service with 20 ms added to every request and B requests per S seconds, 429
# + Retry-After beyond), a device with N photos (0.3-3 MB) and M videos of
# 64 MiB, bound to the destination; from `bind` until every file is
# delivered. Each service twice: "reactive" (the destination knows no budget
# and only honours 429 + Retry-After) and "paced" (`max_requests_per_s` set
# to the budget, as from a service's published limit). Reports, per run: requests per second achieved as a share of
# the budget (the delivery needs far more than the budget, so 100% is the
# ceiling), requests refused for the budget, requests sent before an
# announced Retry-After (must be 0), and bytes per second. rclone is not
# compared: its Dropbox, OneDrive and Google Drive backends have no setting
# for another API address (1.60, Debian), so it cannot reach these servers.
# Results: bench/results/<UTC time>-cloud.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
photos=200 videos=2 budget=10 window=1 kinds="dropbox onedrive gdrive" bin="$here/build/release"
while [[ $# -gt 0 ]]; do
  case $1 in
    --photos) photos=$2; shift 2 ;;
    --videos) videos=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --kinds) kinds=$2; shift 2 ;;
    --build) bin=$2; shift 2 ;;
    *) echo "usage: cloud_bench.sh [--photos N] [--videos M] [--budget B] [--window S] [--kinds K] [--build DIR]" >&2; exit 2 ;;
  esac
done
SB_NAME=cloud-bench
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/drive_stack.sh"
results="$here/bench/results/$(date -u +%Y-%m-%dT%H%MZ)-cloud.json"
rows=()

one_kind() {
  drive_stack_kind "$1"
  local mode=$2
  work="$(mktemp -d /tmp/shoebox-cloud-bench.XXXXXX)"
  chmod 755 "$work"
  mkdir -p "$work/src/photos" "$work/src/videos"
  local i size
  for ((i = 0; i < photos; i++)); do
    size=$((300000 + (i * 7919 % 2700) * 1000))
    sb_gen_random "$work/src/photos/IMG_$i.jpg" "$size"
  done
  for ((i = 0; i < videos; i++)); do sb_gen_random "$work/src/videos/clip_$i.mov" $((64 << 20)); done
  local files bytes
  files=$(find "$work/src" -type f | wc -l)
  bytes=$(du -sb "$work/src" | cut -f1)
  if [[ $kind == dropbox ]]; then
    SERVICE_ARGS="" drive_stack_up
    curl -sS -X POST -d "{\"budget\": $budget, \"window\": $window}" "$svc/_control/config" >/dev/null
  else
    SERVICE_ARGS="--throttle-budget $budget --throttle-window $window" drive_stack_up
  fi
  if [[ $mode == paced ]]; then
    sb dest set box --set "max_requests_per_s=$((budget / window))" >/dev/null
  fi
  "$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress >"$work/agent.log" 2>&1
  stats() {
    if [[ $kind == dropbox ]]; then
      curl -sS "$svc/_control/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin)
print(sum(v for k, v in s["requests"].items() if k.startswith("/2/")), s["throttled"], s["throttled_after_retry_after"])'
    else
      curl -sS "$svc/_control/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin)
print(s["requests"], s["throttled"], s["early"])'
    fi
  }
  local r0 t0 r1 t1
  read -r -a r0 < <(stats)
  t0=$(date +%s.%N)
  sb bind --device phone --dest box >/dev/null
  wait_delivered "$files"
  t1=$(date +%s.%N)
  read -r -a r1 < <(stats)
  rows+=("$(python3 -c '
import json, sys
k, t0, t1, b, w, n, nb = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
r0, r1 = [int(x) for x in sys.argv[8].split()], [int(x) for x in sys.argv[9].split()]
secs = t1 - t0
req, thr, early = r1[0] - r0[0], r1[1] - r0[1], r1[2] - r0[2]
rate = (req - thr) / secs
print(json.dumps({"kind": k, "mode": sys.argv[10], "files": n, "bytes": nb, "seconds": round(secs, 1),
                  "budget_per_s": b / w, "requests": req, "refused_for_budget": thr,
                  "sent_before_retry_after": early, "accepted_per_s": round(rate, 2),
                  "share_of_budget": round(rate / (b / w), 3),
                  "mb_per_s": round(nb / secs / 1e6, 2)}))' \
    "$kind" "$t0" "$t1" "$budget" "$window" "$files" "$bytes" "${r0[*]}" "${r1[*]}" "$mode")")
  sb_log "${rows[-1]}"
  stop_stack
}

stop_stack() {
  [[ -n ${work:-} && -d $work ]] || return 0
  for p in worker coordinator service; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  rm -rf "$work"
  work=""
}
trap stop_stack EXIT

for k in $kinds; do
  for m in reactive paced; do one_kind "$k" "$m"; done
done
printf '%s\n' "${rows[@]}" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
json.dump({"bench": "cloud", "rows": rows}, open(sys.argv[1], "w"), indent=1)
print("| service | mode | files | seconds | budget/s | accepted/s | share of budget | refused (429) | sent before Retry-After | MB/s |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %d | %.1f | %g | %.2f | %.0f%% | %d | %d | %.2f |" % (r["kind"], r["mode"], r["files"], r["seconds"],
          r["budget_per_s"], r["accepted_per_s"], 100 * r["share_of_budget"], r["refused_for_budget"],
          r["sent_before_retry_after"], r["mb_per_s"]))
' "$results"
echo "results: $results"
