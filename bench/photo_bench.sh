#!/usr/bin/env bash
# Photo services under a request budget, with worker kills and a lost
# catalog (issue 20, docs/performance.md "Photo services under a request
# budget").
#
#   bench/photo_bench.sh [--photos N] [--folders F] [--budget B] [--window S]
#                        [--kinds "flickr smugmug"] [--kills K] [--concurrency C]
#                        [--daily-budget D] [--build DIR]
#
# For each kind: the stack of tests/e2e/drive_stack.sh (PostgreSQL,
# coordinator, one worker with C jobs at a time) and the local server of the
# service with 20 ms added to every request and B requests per S seconds
# (429 + Retry-After beyond); the destination is paced at B/S
# (`max_requests_per_s`), connected with `dest connect` (OAuth 1.0a, the PIN
# read off the authorize page). A device with N small JPEGs (distinct
# content) in F folders (half of them one level deeper: "Trip 01/2021") is
# bound to it; the worker is killed with SIGKILL K times while it delivers
# (after each N/(K+1) deliveries) and started again. Then the catalog is
# lost: the worker and coordinator stop, their state (database, chunk store,
# keys, the device's enrolment) is moved away, and a second coordinator on
# an empty database with a new worker, a new `dest add` + `dest connect` of
# the same account and the same device folder deliver the library again to
# the SAME running server, which is not restarted.
# Checked at the server after each phase: every photo exactly once, each in
# the one album its folder maps to (the default album rule: "Trip 01/2021"
# is "Trip 01 2021"), no album twice. Reported: requests per second accepted
# by the server as a share of the budget (from `bind` to the last delivery,
# kills included), requests refused for the budget, requests sent before an
# announced Retry-After, duplicates, albums, and the uploads of the
# lost-catalog run (must be 0). Results: bench/results/<UTC time>-photo.json.
# Google Photos (--kinds gphotos) has a daily budget only (10,000 requests
# per project per day), so there is no per-second share; its two phases,
# each on a new stack against tests/fakes/gphotos_server.py (20 ms latency):
#   (a) "ample": the server's daily budget and the destination's
#       `daily_request_budget` are 10,000 (more than the library needs); the
#       library is delivered with K kill -9 of the worker as above; checked:
#       every photo once, in its folder's album, no album twice, no request
#       over the budget; reported: requests per photo, batchCreate calls and
#       items per call, albums created, wall time.
#   (b) "short": the server's daily budget and `daily_request_budget` are
#       --daily-budget D (default 300, less than the library needs); the
#       server's count is reset at `bind` (the `dest connect` check is the
#       CLI's, not the worker's); once the server has seen no request for
#       20 s, reported: the share of D used before waiting, requests refused
#       over the budget (must be 0), the jobs waiting with "Google Photos
#       daily request budget used; resumes at 00:00 Pacific" (`shoebox jobs`),
#       and dead or retrying jobs (must be 0).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
photos=2000 folders=40 budget=200 window=10 kinds="flickr" kills=2 concurrency=8 daily=300
bin="$here/build/release"
usage="usage: photo_bench.sh [--photos N] [--folders F] [--budget B] [--window S] [--kinds K] [--kills K] [--concurrency C] [--daily-budget D] [--build DIR]"
while [[ $# -gt 0 ]]; do
  case $1 in
    --photos) photos=$2; shift 2 ;;
    --folders) folders=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --kinds) kinds=$2; shift 2 ;;
    --kills) kills=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --daily-budget) daily=$2; shift 2 ;;
    --build) bin=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
command="bench/photo_bench.sh --photos $photos --folders $folders --budget $budget --window $window --kinds \"$kinds\" --kills $kills --concurrency $concurrency"
[[ " $kinds " == *" gphotos "* ]] && command+=" --daily-budget $daily"
SB_NAME=photo-bench
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/drive_stack.sh"
results="$here/bench/results/$(date -u +%Y-%m-%dT%H%MZ)-photo.json"
rows=()
per_s=$(python3 -c "print(max(1, round($budget / $window)))")

# N distinct small JPEGs in F folders: one real JPEG with EXIF, each copy
# made distinct by bytes after its EOI marker (viewers ignore them). Odd
# folders hold their photos one level deeper ("Trip 01/2021").
make_library() {
  local base="$work/base.jpg"
  sb_gen_jpeg "$base" 1 "2023:06:01 12:00:00" 320x240
  python3 - "$base" "$work/src" "$photos" "$folders" <<'PY'
import os, sys
base, src, n, f = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = open(base, "rb").read()
for i in range(n):
    k = i % f
    d = os.path.join(src, "Trip %02d" % k, str(2020 + k % 4)) if k % 2 else \
        os.path.join(src, "Trip %02d" % k)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "IMG_%05d.jpg" % i), "wb").write(data + b"shoebox-bench-%d" % i)
PY
}

# --- per kind: add + connect, the server's counters, the server's records ------------------
connect_flickr() {
  sb dest add box --kind flickr --set api_key=e2e-key --set "endpoint=$svc/services" \
    --set "upload_endpoint=$svc/services" --set "auth_endpoint=$svc/services" \
    --set "max_requests_per_s=$per_s" --layout '{album}/{name}' >"$work/add.out"
  drive_stack_connect_oauth1 "$svc/services/oauth/authorize"
}
connect_smugmug() {
  sb dest add box --kind smugmug --set api_key=e2e-api-key --set "endpoint=$svc" \
    --set "upload_endpoint=$svc" --set "auth_endpoint=$svc" --set folder=Shoebox \
    --set "max_requests_per_s=$per_s" >"$work/add.out"
  drive_stack_connect_oauth1 "$svc/services/oauth/1.0a/authorize"
}
budget_smugmug() {
  curl -sS -X POST -d "{\"budget\": $budget, \"window\": $window}" "$svc/_control/config" >/dev/null
}
budget_flickr() { :; }  # --budget/--window on its command line

# "requests refused early uploads" as the server counts them.
counters() {
  curl -sS "$svc/_control/stats" | python3 -c '
import json, sys
k, s = sys.argv[1], json.load(sys.stdin)
if k == "flickr":
    print(sum(s["requests"].values()), s["throttled"], s["throttled_after_retry_after"], s["uploads"])
else:
    print(s["requests"], s["throttled"], s["throttled_early"], s["uploads"] + s["replacements"])' "$kind"
}

# The server's records against the device folder: JSON {photos, duplicates,
# albums, albums_twice, misplaced}.
check_server() {
  python3 - "$kind" "$svc" "$work/src" <<'PY'
import collections, hashlib, json, os, sys, urllib.request
kind, svc, src = sys.argv[1], sys.argv[2], sys.argv[3]
want = {}  # sha256 -> album title (the default rule "folder")
for root, _, names in os.walk(src):
    for n in names:
        data = open(os.path.join(root, n), "rb").read()
        want[hashlib.sha256(data).hexdigest()] = os.path.relpath(root, src).replace("/", " ")
get = lambda what: json.load(urllib.request.urlopen(svc + "/_control/" + what))
in_album = collections.defaultdict(list)  # sha -> album titles holding it
shas, titles = [], []
if kind == "flickr":
    photos, sets = get("photos"), get("sets")
    by_id = {p["id"]: p["sha256"] for p in photos}
    shas = [p["sha256"] for p in photos]
    titles = [s["title"] for s in sets]
    for s in sets:
        for pid in s["photos"]:
            in_album[by_id[pid]].append(s["title"])
else:  # smugmug: galleries; the device's tree under Shoebox/phone/src
    for node in get("tree"):
        if node["type"] != "Album":
            continue
        rel = node["path"].split("/", 3)[3] if node["path"].count("/") >= 3 else ""
        title = rel.replace("/", " ")
        titles.append(title)
        for img in node["images"]:
            shas.append(img["sha256"])
            in_album[img["sha256"]].append(title)
count = collections.Counter(shas)
misplaced = sum(1 for sha, album in want.items() if in_album.get(sha) != [album])
print(json.dumps({"photos": len(shas), "distinct": len(count), "missing": len(set(want) - set(count)),
                  "duplicates": sum(c - 1 for c in count.values()),
                  "albums": len(titles), "albums_twice": len(titles) - len(set(titles)),
                  "misplaced": misplaced}))
PY
}

delivered_count() {
  sb status --json | python3 -c 'import json,sys; print(sum(x["delivered_files"] for x in json.load(sys.stdin)["destinations"]))'
}

# wait_all N: until N deliveries are done and none is open (no time bound
# short of 3 hours: a budget-bound delivery of thousands of photos takes long).
wait_all() {
  local want=$1 delivered open dead end=$((SECONDS + 10800))
  while ((SECONDS < end)); do
    sb status --json >"$work/status.json"
    read -r delivered open dead < <(python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))["destinations"]
print(sum(x["delivered_files"] for x in d), sum(x["pending_files"]+x["in_flight_files"]+x["failed_files"] for x in d), sum(x["dead_files"] for x in d))' "$work/status.json")
    [[ $dead == 0 ]] || { sb jobs --state dead | head -n 20; sb_die "$dead deliveries are dead"; }
    [[ $delivered -ge $want && $open == 0 ]] && break
    sleep 1
  done
  [[ $delivered == "$want" ]] || { cat "$work/status.json"; sb_die "delivered $delivered of $want"; }
}

# Binds the device to the destination, then kills the worker (SIGKILL) `kills`
# times, evenly spread over the `files` deliveries, starting it again each time.
bind_and_kill() {
  local label=$1 k next
  sb bind --device phone --dest box >/dev/null
  for ((k = 1; k <= kills; k++)); do
    next=$((files * k / (kills + 1)))
    while (($(delivered_count) < next)); do sleep 0.2; done
    kill -9 "$(cat "$work/worker.pid")"
    rm -f "$work/worker.pid"
    sb_log "$label: killed the worker (SIGKILL) at $(delivered_count) of $files delivered"
    sb_start worker "$work/worker.log" "$work/worker.pid" \
      "$bin/workers/shoebox-worker" --config "$work/worker.toml"
  done
}

one_kind() {
  drive_stack_kind "$1"
  work="$(mktemp -d /tmp/shoebox-photo-bench.XXXXXX)"
  chmod 755 "$work"
  mkdir -p "$work/src"
  make_library
  local files
  files=$(find "$work/src" -type f | wc -l)
  sb_log "$kind: $files photos in $(find "$work/src" -mindepth 1 -type d | wc -l) directories"
  export WORKER_CONCURRENCY=$concurrency
  [[ $kind == flickr ]] && SERVICE_ARGS="--budget $budget --window $window" || SERVICE_ARGS=""
  drive_stack_service
  "budget_$kind"
  drive_stack_catalog
  "connect_$kind"

  # --- phase 1: deliver with two kill -9 of the worker ---------------------------------------
  local c0 c1 c2 t0 t1
  drive_stack_device
  "$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress \
    >>"$work/agent.log" 2>&1 || sb_die "the agent failed"
  read -r -a c0 < <(counters)
  t0=$(date +%s.%N)
  bind_and_kill "$kind"
  wait_all "$files"
  t1=$(date +%s.%N)
  read -r -a c1 < <(counters)
  local first; first=$(check_server)
  sb_log "$kind: delivered in $(python3 -c "print(round($t1 - $t0, 1))") s: $first"

  # --- phase 2: a lost catalog, the same running server ------------------------------------
  for p in worker coordinator; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  mkdir "$work/first"
  local f
  for f in "$work"/*; do
    case ${f##*/} in src | first | service.pid | service.log | service-data | base.jpg) ;;
      *) mv "$f" "$work/first/" ;; esac
  done
  local t2 t3
  drive_stack_catalog
  "connect_$kind"
  drive_stack_device
  "$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress \
    >>"$work/agent.log" 2>&1 || sb_die "the agent failed"
  t2=$(date +%s.%N)
  sb bind --device phone --dest box >/dev/null
  wait_all "$files"
  t3=$(date +%s.%N)
  read -r -a c2 < <(counters)
  local second; second=$(check_server)
  sb_log "$kind: lost-catalog run in $(python3 -c "print(round($t3 - $t2, 1))") s: $second"

  rows+=("$(python3 - "$kind" "$t0" "$t1" "$t2" "$t3" "$budget" "$window" "$files" "$kills" \
    "${c0[*]}" "${c1[*]}" "${c2[*]}" "$first" "$second" "$concurrency" <<'PY'
import json, sys
a = sys.argv
kind, t0, t1, t2, t3 = a[1], float(a[2]), float(a[3]), float(a[4]), float(a[5])
budget, window, files, kills = int(a[6]), float(a[7]), int(a[8]), int(a[9])
c0, c1, c2 = ([int(x) for x in s.split()] for s in (a[10], a[11], a[12]))
first, second = json.loads(a[13]), json.loads(a[14])
secs = t1 - t0
accepted = (c1[0] - c0[0]) - (c1[1] - c0[1])
print(json.dumps({
    "kind": kind, "files": files, "folders_with_photos": first["albums"], "kills": kills,
    "worker_concurrency": int(a[15]), "latency_ms": 20,
    "budget": budget, "window_s": window, "budget_per_s": budget / window,
    "seconds": round(secs, 1), "requests": c1[0] - c0[0], "accepted_per_s": round(accepted / secs, 2),
    "share_of_budget": round(accepted / secs / (budget / window), 3),
    "refused_for_budget": c1[1] - c0[1], "sent_before_retry_after": c1[2] - c0[2],
    "uploads": c1[3] - c0[3], "after_kills": first,
    "lost_catalog_seconds": round(t3 - t2, 1), "lost_catalog_requests": c2[0] - c1[0],
    "lost_catalog_uploads": c2[3] - c1[3], "after_lost_catalog": second}))
PY
)")
  sb_log "${rows[-1]}"
  stop_stack
}

stop_stack() {
  local rc=$? l
  [[ -n ${work:-} && -d $work ]] || return 0
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.log; do echo "===== $l (tail)"; tail -n 20 "$l"; done
  fi
  for p in worker coordinator service; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  [[ -d $work/first ]] && sb_pg_stop "$work/first/pg"
  if [[ ${KEEP:-0} == 1 ]]; then sb_log "kept $work"; else rm -rf "$work"; fi
  work=""
}
trap stop_stack EXIT

# --- Google Photos: (a) an ample daily budget with kills, (b) a short one -----------------
gphotos_stats() { curl -sS "$svc/_control/stats"; }

# The library at the server against the device folder (the album rule
# "folder": "Trip 01/2021" is "Trip 01 2021"): JSON as check_server.
gphotos_check() {
  python3 - "$svc" "$work/src" <<'PY'
import collections, hashlib, json, os, sys, urllib.request
svc, src = sys.argv[1], sys.argv[2]
want = {}
for root, _, names in os.walk(src):
    for n in names:
        data = open(os.path.join(root, n), "rb").read()
        want[hashlib.sha256(data).hexdigest()] = os.path.relpath(root, src).replace("/", " ")
lib = json.load(urllib.request.urlopen(svc + "/_control/library?user=default"))
sha = {it["id"]: it["sha256"] for it in lib["items"]}
in_album = collections.defaultdict(list)
titles = [a["title"] for a in lib["albums"]]
for a in lib["albums"]:
    for i in a["items"]:
        in_album[sha[i]].append(a["title"])
count = collections.Counter(sha.values())
print(json.dumps({"photos": len(sha), "distinct": len(count), "missing": len(set(want) - set(count)),
                  "duplicates": sum(c - 1 for c in count.values()),
                  "albums": len(titles), "albums_twice": len(titles) - len(set(titles)),
                  "misplaced": sum(1 for s, album in want.items() if in_album.get(s) != [album])}))
PY
}

# gphotos_stack SERVER_BUDGET DEST_BUDGET: a new stack, library, device and
# destination "box" (not bound yet).
gphotos_stack() {
  drive_stack_kind gphotos
  work="$(mktemp -d /tmp/shoebox-photo-bench.XXXXXX)"
  chmod 755 "$work"
  mkdir -p "$work/src"
  make_library
  files=$(find "$work/src" -type f | wc -l)
  export WORKER_CONCURRENCY=$concurrency
  SERVICE_ARGS="--daily-budget $1"
  drive_stack_service
  drive_stack_catalog
  DEST_SETTINGS="--layout {album}/{path} --set daily_request_budget=$2" \
    drive_stack_connect_oauth2 >/dev/null
  drive_stack_device
  "$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress \
    >>"$work/agent.log" 2>&1 || sb_die "the agent failed"
  curl -sS -X POST -d '{"reset": true}' "$svc/_control/budget" >/dev/null
}

gphotos_kind() {
  local files t0 t1 s0 s1 ample short
  # (a) ample: 10,000 a day, K kills.
  gphotos_stack 10000 10000
  sb_log "gphotos (a): $files photos, daily budget 10000, $kills kills"
  s0=$(gphotos_stats)
  t0=$(date +%s.%N)
  bind_and_kill gphotos
  wait_all "$files"
  t1=$(date +%s.%N)
  s1=$(gphotos_stats)
  ample=$(python3 - "$t0" "$t1" "$s0" "$s1" "$(gphotos_check)" "$files" "$kills" <<'PY'
import json, sys
a = sys.argv
t0, t1, s0, s1, lib, files = float(a[1]), float(a[2]), json.loads(a[3]), json.loads(a[4]), json.loads(a[5]), int(a[6])
d = {k: s1[k] - s0.get(k, 0) for k in s1 if isinstance(s1[k], int)}
calls = d["batch_create_calls"]
print(json.dumps({"seconds": round(t1 - t0, 1), "daily_budget": 10000, "kills": int(a[7]),
                  "requests": d["requests"], "requests_per_photo": round(d["requests"] / files, 2),
                  "over_budget": d["over_budget"], "batch_create_calls": calls,
                  "items_per_batch_create": round(d["batch_create_items"] / max(1, calls), 1),
                  "concurrent_batch_create": d["concurrent_batch_create"],
                  "albums_created": d["albums_created"], "uploads_started": d["uploads_started"],
                  "library": lib}))
PY
)
  sb_log "gphotos (a): $ample"
  stop_stack

  # (b) short: D a day, no kills; the rest must wait for Pacific midnight.
  gphotos_stack "$daily" "$daily"
  sb_log "gphotos (b): $files photos, daily budget $daily"
  t0=$(date +%s.%N)
  sb bind --device phone --dest box >/dev/null
  # Settled: no request at the server for 20 s and no job pending or in
  # flight (the worker leases each job once more and finds the budget used).
  local last=-1 seen quiet=0 open=1 end=$((SECONDS + 900)) t_last=$t0
  while ((SECONDS < end && (quiet < 20 || open > 0))); do
    sleep 1
    seen=$(gphotos_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
    if [[ $seen == "$last" ]]; then quiet=$((quiet + 1)); else
      quiet=0 last=$seen t_last=$(date +%s.%N); fi
    open=$(sb status --json | python3 -c '
import json,sys; print(sum(x["pending_files"]+x["in_flight_files"] for x in json.load(sys.stdin)["destinations"]))')
  done
  ((quiet >= 20 && open == 0)) ||
    sb_die "gphotos (b): not settled after 900 s ($open jobs pending or in flight)"
  sb jobs --all >"$work/jobs.txt" 2>/dev/null || true
  sb status --json >"$work/status.json"
  s1=$(gphotos_stats)
  short=$(python3 - "$t0" "$t_last" "$s1" "$work/jobs.txt" "$work/status.json" "$files" "$daily" <<'PY'
import json, sys
a = sys.argv
t0, tl, s, files, daily = float(a[1]), float(a[2]), json.loads(a[3]), int(a[6]), int(a[7])
jobs = open(a[4]).read().splitlines()
d = json.load(open(a[5]))["destinations"]
reason = "Google Photos daily request budget used; resumes at 00:00 Pacific"
sample = next((l for l in jobs if reason in l), "")
print(json.dumps({"seconds_to_last_request": round(tl - t0, 1), "daily_budget": daily,
                  "requests_counted": s["counted"], "share_of_daily_budget": round(s["counted"] / daily, 3),
                  "over_budget": s["over_budget"],
                  "delivered": sum(x["delivered_files"] for x in d),
                  "pending": sum(x["pending_files"] for x in d),
                  "in_flight": sum(x["in_flight_files"] for x in d),
                  "retrying": sum(x["failed_files"] for x in d), "dead": sum(x["dead_files"] for x in d),
                  "jobs_waiting_with_reason": sum(1 for l in jobs if reason in l),
                  "jobs_listed": len(jobs), "sample_job_line": sample.strip(),
                  "retrying_for_another_reason": [l.strip() for l in jobs if " retrying " in l
                                                  and reason not in l][:5]}))
PY
)
  sb_log "gphotos (b): $short"
  rows+=("$(python3 -c 'import json,sys; print(json.dumps({"kind": "gphotos", "files": int(sys.argv[1]), "worker_concurrency": int(sys.argv[2]), "latency_ms": 20, "ample": json.loads(sys.argv[3]), "short": json.loads(sys.argv[4])}))' "$files" "$concurrency" "$ample" "$short")")
  stop_stack
}

for k in $kinds; do
  if [[ $k == gphotos ]]; then gphotos_kind; else one_kind "$k"; fi
done
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
printf '%s\n' "${rows[@]}" | python3 -c '
import json, sys, datetime
rows = [json.loads(l) for l in sys.stdin if l.strip()]
out = {"schema": 1, "benchmark": "photo_bench.sh", "bench": "photo",
       "date_utc": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%MZ"),
       "commit": sys.argv[2], "command": sys.argv[3], "machine": {"cpu": sys.argv[4], "nproc": int(sys.argv[5])},
       "rows": rows}
json.dump(out, open(sys.argv[1], "w"), indent=1)
if any(r["kind"] != "gphotos" for r in rows):
    print("| service | photos | albums | seconds | budget/s | accepted/s | share of budget | refused (429) | sent before Retry-After | duplicates | misplaced | lost-catalog uploads | albums twice |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in [r for r in rows if r["kind"] != "gphotos"]:
    f, s = r["after_kills"], r["after_lost_catalog"]
    print("| %s | %d | %d | %.1f | %g | %.2f | %.0f%% | %d | %d | %d / %d | %d / %d | %d | %d / %d |" % (
        r["kind"], r["files"], f["albums"], r["seconds"], r["budget_per_s"], r["accepted_per_s"],
        100 * r["share_of_budget"], r["refused_for_budget"], r["sent_before_retry_after"],
        f["duplicates"], s["duplicates"], f["misplaced"], s["misplaced"], r["lost_catalog_uploads"],
        f["albums_twice"], s["albums_twice"]))
for r in [r for r in rows if r["kind"] == "gphotos"]:
    a, b, l = r["ample"], r["short"], r["ample"]["library"]
    print("gphotos (a) daily budget %d: %d photos in %.1f s, %d requests (%.2f per photo), %d batchCreate "
          "(%.1f items each), %d albums (%d twice), %d duplicates, %d misplaced, %d missing, %d over the budget"
          % (a["daily_budget"], l["photos"], a["seconds"], a["requests"], a["requests_per_photo"],
             a["batch_create_calls"], a["items_per_batch_create"], l["albums"], l["albums_twice"],
             l["duplicates"], l["misplaced"], l["missing"], a["over_budget"]))
    print("gphotos (b) daily budget %d: %d requests = %.0f%% of it in %.1f s, %d over it (429), %d delivered, "
          "%d waiting with the budget reason, %d retrying, %d dead"
          % (b["daily_budget"], b["requests_counted"], 100 * b["share_of_daily_budget"],
             b["seconds_to_last_request"], b["over_budget"], b["delivered"],
             b["jobs_waiting_with_reason"], b["retrying"], b["dead"]))
' "$results" "$(git -C "$here" rev-parse --short HEAD)" "$command" "$cpu" "$(nproc)"
echo "results: $results"
