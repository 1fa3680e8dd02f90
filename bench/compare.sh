#!/usr/bin/env bash
# Side by side: Shoebox against restic, borg and rclone on the same data and
# disk, in one run (docs/performance.md, "Side by side: compare.sh").
#
#   bench/compare.sh [--size-mb N] [--work DIR] [--build DIR] [--runs N]
#                    [--tools shoebox,restic,borg,rclone] [--keep]
#
#   --size-mb N  library size, about N * 10^6 bytes (default 2000). Two devices:
#                A holds 6/11 of it (real JPEGs with EXIF 1-8 MB, random-content
#                RAW .dng/.cr2 8-25 MB, random-content .mov/.mp4 videos of
#                100-500 MB scaled by N/2000, one real short MP4); B holds a copy
#                of every third file of A plus its own files of the same mix.
#   --work DIR   library, servers and results (default /tmp/shoebox-compare).
#                The library is kept and reused by later runs of the same size.
#   --build DIR  build directory with coordinator/shoebox-coordinator,
#                workers/shoebox-worker, agent/shoebox-agent and cli/shoebox
#                (default build/release). Each binary can be overridden with
#                SHOEBOX_COORDINATOR_BIN, SHOEBOX_WORKER_BIN, SHOEBOX_AGENT_BIN,
#                SHOEBOX_CLI_BIN.
#   --runs N     rounds (default 1); with N > 1 every figure is the median.
#   --tools LIST which of shoebox, restic, borg, rclone to run (default all).
#   --keep       keep each round's repositories, chunk stores and destinations.
#   --no-count   skip the counting pass (below).
#   SHOEBOX_COMPARE_PG_CONF='setting = value' adds lines to the PostgreSQL
#                cluster's postgresql.conf (diagnostics; with --keep the
#                cluster stays in WORK/pg, stopped).
#   SHOEBOX_AGENT_EXTRA='key = value' adds lines to the agents' [agent] table
#                (experiments, e.g. upload_streams = 8).
#   SHOEBOX_BENCH_INSECURE=1 runs Shoebox with plain-text gRPC (insecure_dev)
#                instead of the default mutual TLS, to see what TLS costs.
#
# Per round, every tool starts from an empty repository / destination, and the
# tools take turns (the order rotates each round) through three phases on the
# same library: first backup, a re-run with nothing changed, and a run after
# 8 bytes near the start of 1% of the files were overwritten in place (mtime
# updated). Shoebox's two agents and the two `rclone copy` run at the same
# time; restic and borg back up device A then device B into one repository
# (borg's lock allows one writer; concurrent restic backups store the overlap
# twice), each of them using both cores on its own.
#   Shoebox: private PostgreSQL, a coordinator, 2 workers (concurrency 2) and a
#     local destination; two agents `run --once`. Before the timed runs each
#     agent registers its device (one untimed run with every file excluded) and
#     the device is bound to the destination. "Ingest" is until both agents
#     exited (every chunk acknowledged), "end to end" until `shoebox status
#     --json` shows every delivery done and the changed files are identical at
#     the destination. The first backup is run twice per round, each time
#     into an empty instance of its own: once as above (deliveries run while
#     the agents ingest: "ingest while delivering" and "end to end"), and once
#     with both workers stopped until the agents are done ("ingest alone", the
#     ingest path on its own as `restic backup` is; its deliveries then run
#     untimed for the ingest figure and are checked the same way).
#   restic 0.14 (`restic backup`, local repository, RESTIC_PASSWORD), borg 1.2
#   (`borg create`, repokey, lz4 default), rclone 1.60 (`rclone copy`, local to
#   local, no fsync), and restic followed by rclone (the sum of the two, as run
#   one after the other: the peers' way of getting Shoebox's two copies).
# Peak memory: /usr/bin/time %M for agents and peers; VmHWM (reset through
# /proc/PID/clear_refs before each phase) for the coordinator and workers.
# CPU-seconds: user + system of every process (agents and peers by
# /usr/bin/time, coordinator, workers and the PostgreSQL cluster from
# /proc/PID/stat before and after). System calls: after the timed rounds, a
# separate, untimed counting pass runs each tool's first backup once more
# into an empty instance under `strace -f -c` (Shoebox: the agents started
# under it, and strace attached to the coordinator, both workers and the
# PostgreSQL postmaster with its backends; strace slows everything, so it is
# never part of a timed run): all system calls and fsync + fdatasync (and
# sync_file_range, syncfs, msync), per GB of library, in the table and in
# results.json ("per_gb").
# Stored bytes: du -sb of the repository, chunk store and destinations, plus the
# growth of the catalog database. The page cache cannot be dropped reliably on
# this machine: all tools read the library from a warm cache.
# Results: a table on stdout and WORK/results-<UTC time>/results.json. To keep
# a run, copy that file to bench/results/ with its commit (bench/results/README.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SB_NAME=compare
# shellcheck source=deploy/lib.sh
source "$here/deploy/lib.sh"
# shellcheck source=tests/e2e/media.sh
source "$here/tests/e2e/media.sh"
# shellcheck source=bench/compare/genlib.sh
source "$here/bench/compare/genlib.sh"

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
size_mb=2000; work=/tmp/shoebox-compare; build="$here/build/release"; runs=1
# Shoebox runs as a user gets it: mutual TLS, workers and agents enrolled with
# tokens (untimed). SHOEBOX_BENCH_INSECURE=1 measures plain-text gRPC instead.
insecure="${SHOEBOX_BENCH_INSECURE:-0}"
tools="shoebox,restic,borg,rclone"; keep=0; count_pass=1
while (($#)); do
  case "$1" in
    --size-mb) size_mb="$2"; shift ;;
    --work) work="$2"; shift ;;
    --build) build="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    --tools) tools="$2"; shift ;;
    --keep) keep=1 ;;
    --no-count) count_pass=0 ;;
    -h|--help) usage ;;
    *) sb_log "unknown argument '$1'"; usage ;;
  esac
  shift
done
[[ $size_mb =~ ^[0-9]+$ && $size_mb -ge 20 ]] || sb_die "--size-mb must be a whole number >= 20"
[[ $runs =~ ^[0-9]+$ && $runs -ge 1 ]] || sb_die "--runs must be a whole number >= 1"
IFS=, read -r -a tool_list <<<"$tools"
for t in "${tool_list[@]}"; do
  case $t in shoebox|restic|borg|rclone) ;; *) sb_die "--tools: unknown tool '$t' (shoebox, restic, borg, rclone)" ;; esac
done
has_tool() { [[ ,$tools, == *,$1,* ]]; }

COORD="${SHOEBOX_COORDINATOR_BIN:-$build/coordinator/shoebox-coordinator}"
WORKER="${SHOEBOX_WORKER_BIN:-$build/workers/shoebox-worker}"
AGENT="${SHOEBOX_AGENT_BIN:-$build/agent/shoebox-agent}"
CLI="${SHOEBOX_CLI_BIN:-$build/cli/shoebox}"
if has_tool shoebox; then
  for b in COORD:SHOEBOX_COORDINATOR_BIN WORKER:SHOEBOX_WORKER_BIN AGENT:SHOEBOX_AGENT_BIN CLI:SHOEBOX_CLI_BIN; do
    v=${b%%:*}
    [[ -x ${!v} ]] || sb_die "${!v} is missing: build it (cmake --build $build --target shoebox-coordinator shoebox-worker shoebox-agent shoebox), pass --build DIR, or set ${b#*:}"
  done
fi
TIME=/usr/bin/time
[[ -x $TIME ]] || sb_die "/usr/bin/time is missing: apt-get install time"
if ((count_pass)); then
  command -v strace >/dev/null || sb_die "strace is missing (for the counting pass): apt-get install strace, or pass --no-count"
fi
for t in restic borg rclone; do
  has_tool "$t" && { command -v "$t" >/dev/null || sb_die "$t is missing: apt-get install $t"; }
done
command -v exiftool >/dev/null || sb_die "exiftool is missing: apt-get install libimage-exiftool-perl"
command -v ffmpeg >/dev/null || sb_die "ffmpeg is missing: apt-get install ffmpeg"
[[ -n $IM_CONVERT ]] || sb_die "ImageMagick is missing: apt-get install imagemagick"

mkdir -p "$work"; work="$(cd "$work" && pwd)"; chmod 755 "$work"
# One run at a time per work directory: two at once measure each other and
# need twice the disk (about 4x the library per round each).
exec 9>"$work/.lock"
flock -n 9 || sb_die "another compare.sh is running in $work; wait for it or use --work DIR"
lib="$work/library-${size_mb}mb"
cmp_gen_library "$lib" "$size_mb"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$work/results-$stamp"; mkdir -p "$out"; chmod 755 "$out"
records="$out/records.jsonl"; : >"$records"
: >"$work/rclone.conf"
PY="$here/bench/compare/cmp.py"
# Undo a killed run's 1% changes; re-copy shared files an older compare.sh
# (which did not undo its changes) left differing between the two devices.
python3 "$PY" restore "$lib"
python3 "$PY" repair "$lib"
# ext4 without a journal (this project's VMs) skips inodes freed in the last
# 60 s (360 s while their inode-table block is dirty) when it creates a file,
# at a cost per skipped inode (recently_deleted() in fs/ext4/ialloc.c): a run
# started right after the previous one deleted its ~20,000 files paid up to
# 0.3 CPU-s more in the coordinator. Write back, then let them age.
sync
if [[ -f $work/.last-delete ]]; then
  age=$(( $(date +%s) - $(cat "$work/.last-delete") ))
  if ((age >= 0 && age < 62)); then
    sb_log "waiting $((62 - age)) s for the previous run's deleted files to age (ext4)"
    sleep $((62 - age))
  fi
fi

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# Peak RSS (KB), wall and CPU seconds (user + system) from a
# /usr/bin/time -f '%e %M %U %S' file (the last line; a failed command adds a
# line before it).
time_kb() { tail -n 1 "$1" | awk '{print $2}'; }
time_s() { tail -n 1 "$1" | awk '{print $1}'; }
time_cpu() { tail -n 1 "$1" | awk '{printf "%.2f", $3 + $4}'; }
sum_of() { printf '%s\n' "$@" | awk '{s += $1} END {printf "%.2f", s}'; }
# CPU seconds a running process has used so far (utime + stime), and for the
# PostgreSQL cluster: the postmaster, its live children and the ones that
# exited (cutime + cstime of the postmaster).
clk_tck=$(getconf CLK_TCK)
proc_cpu() { awk -v t="$clk_tck" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_cpu() {
  local pm c total
  pm=$(head -n 1 "$pg_dir/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  total=$(awk -v t="$clk_tck" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13 + $14 + $15) / t}' "/proc/$pm/stat")
  for c in $(ps -o pid= --ppid "$pm"); do total=$(sum_of "$total" "$(proc_cpu "$c")"); done
  echo "$total"
}
max_of() { printf '%s\n' "$@" | sort -g | tail -n 1; }
du_b() { if [[ -e $1 ]]; then du -sb "$1" | cut -f1; else echo 0; fi; }
record() {  # record TOOL PHASE WALL_S INGEST_S|null MEM_JSON STORED_JSON CPU_JSON
  printf '{"round": %d, "tool": "%s", "phase": "%s", "wall_s": %s, "ingest_s": %s, "mem_kb": %s, "stored": %s, "cpu_s": %s}\n' \
    "$round" "$1" "$2" "$3" "$4" "$5" "$6" "$7" >>"$records"
  sb_log "round $round  $1 $2: ${3} s$([[ $4 == null ]] || echo " (ingest $4 s)")"
}

# --- cleanup -------------------------------------------------------------------------
bg_pids=()
rdir=""
pg_dir="$work/pg"
# The data of every round is removed only at exit (cleanup): deleting
# thousands of files right before the next round slows file creation in it
# (ext4 without a journal, see the wait at the start). About 4x the library
# size stays on disk per round until then; a failed or interrupted run
# removes it too, unless --keep.
remove_round_data() {
  local r
  [[ $keep == 0 && -n ${out:-} ]] || return 0
  for r in "$out"/round-* "$out"/count; do
    [[ -d $r ]] || continue
    rm -rf "$r/chunks" "$r/dest" "$r/restic-repo" "$r/restic-cache" "$r/borg-repo" \
      "$r/borg-base" "$r/rclone-dest" "$r"/agent-?/ "$r"/agent-?-register/ \
      "$r/alone/chunks" "$r/alone/dest" "$r"/alone/agent-?/ "$r"/alone/agent-?-register/
  done
}
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${bg_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  if [[ -n $rdir ]]; then  # the instance being measured, and the round's main one
    for d in "$rdir" "${rdir%/alone}"; do
      for p in worker-1 worker-2 coordinator; do sb_stop "$d/$p.pid" 20; done
    done
  fi
  if has_tool shoebox; then
    sb_pg_stop "$pg_dir"
    # Removed now rather than at the next run's start, right before it measures.
    [[ $keep == 1 ]] || rm -rf "$pg_dir" "$pg_dir.initdb.log"
  fi
  remove_round_data
  # When this run's deletions were written back: the next run waits until
  # they are a minute old (see the start).
  sync; date +%s >"$work/.last-delete"
  if [[ $rc != 0 && -n $rdir ]]; then
    for p in "$rdir"/*.log; do [[ -f $p ]] && { echo "===== $p (tail)"; tail -n 15 "$p"; }; done
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- metadata ------------------------------------------------------------------------------
files_a=$(find "$lib/src-a" -type f | wc -l)
files_b=$(find "$lib/src-b" -type f | wc -l)
shared=$(find "$lib/src-b/from-laptop" -type f | wc -l)
lib_bytes=$(du -sb "$lib/src-a" "$lib/src-b" | awk '{s += $1} END {print s}')
distinct_bytes=$(( lib_bytes - $(du -sb "$lib/src-b/from-laptop" | cut -f1) ))
python3 - "$out/meta.json" <<PY
import json, os, platform, subprocess, sys, time
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return ""
meta = {
  "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
  "size_mb": $size_mb, "runs": $runs, "tools": "$tools",
  "machine": {"nproc": os.cpu_count(), "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
              "mem_total_kb": int(sh("awk '/MemTotal/ {print \$2}' /proc/meminfo") or 0),
              "kernel": platform.release(), "loadavg_start": open("/proc/loadavg").read().split()[:3]},
  "library": {"path": "$lib", "files": $((files_a + files_b)), "files_a": $files_a, "files_b": $files_b,
              "shared_files": $shared, "bytes": $lib_bytes, "distinct_bytes": $distinct_bytes},
  "versions": {"restic": sh("restic version"), "borg": sh("borg --version"),
               "rclone": sh("rclone version | head -n 1")},
  "binaries": {"coordinator": "$COORD", "worker": "$WORKER", "agent": "$AGENT", "cli": "$CLI"},
  "page_cache": "not dropped (not possible reliably here); the library is read from a warm cache by every tool",
}
json.dump(meta, open(sys.argv[1], "w"), indent=2)
PY
sb_log "library: $((files_a + files_b)) files, $lib_bytes bytes ($files_a on A, $files_b on B, $shared shared); results in $out"

# --- Shoebox ---------------------------------------------------------------------------------
pg_port=""
if has_tool shoebox; then
  sb_pg_stop "$pg_dir"; rm -rf "$pg_dir" "$pg_dir.initdb.log"
  pg_port=$(sb_free_port)
  sb_pg_start "$pg_dir" "$pg_port"
  if [[ -n ${SHOEBOX_COMPARE_PG_CONF:-} ]]; then  # diagnostics, e.g. pg_stat_statements
    printf '%s\n' "$SHOEBOX_COMPARE_PG_CONF" >>"$pg_dir/postgresql.conf"
    sb_pg_stop "$pg_dir"; sb_pg_start "$pg_dir" "$pg_port"
  fi
fi
psql_q() { sb_pg_run "$SB_PGBIN/psql" -h 127.0.0.1 -p "$pg_port" -U shoebox -d postgres -tAc "$1"; }
sbcli() { SHOEBOX_CLI_CONFIG="$rdir/cli.toml" "$CLI" "$@"; }

sbx_start_worker() {
  sb_start "worker-$1" "$rdir/worker-$1.log" "$rdir/worker-$1.pid" "$WORKER" --config "$rdir/worker-$1.toml"
}
sbx_tag=""  # "_alone" for the instance whose workers start after ingest
sbx_setup() {
  local db="shoebox_r$round$sbx_tag" c_port w
  psql_q "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  psql_q "CREATE DATABASE $db" >/dev/null
  c_port=$(sb_free_port)
  mkdir -p "$rdir/chunks" "$rdir/dest"
  cat >"$rdir/coordinator.toml" <<TOML
[coordinator]
listen = "127.0.0.1:$c_port"
key_file = "$rdir/master.key"
create_key = true
$([[ $insecure == 1 ]] && echo "insecure_dev = true")
[database]
url = "postgresql://shoebox@127.0.0.1:$pg_port/$db"
[chunk_store]
location = "$rdir/chunks"
TOML
  "$CLI" pool-key --private "$rdir/pool.key" --public "$rdir/pool.pub" >/dev/null
  sb_start coordinator "$rdir/coordinator.log" "$rdir/coordinator.pid" "$COORD" --config "$rdir/coordinator.toml"
  sb_wait_port 127.0.0.1 "$c_port" 60 || sb_die "coordinator did not start, see $rdir/coordinator.log"
  cat >"$rdir/cli.toml" <<TOML
coordinator = "127.0.0.1:$c_port"
$([[ $insecure == 1 ]] && echo "insecure_dev = true" || echo "tls_dir = \"$rdir/tls\"")
pool_public_key = "$rdir/pool.pub"
TOML
  for w in 1 2; do
    [[ $insecure == 1 ]] || sbcli enroll-token --worker "worker-$w" 2>/dev/null \
      | "$WORKER" enroll --coordinator "127.0.0.1:$c_port" --token - --tls-dir "$rdir/worker-$w-tls" >/dev/null \
      || sb_die "worker-$w could not enroll"
    cat >"$rdir/worker-$w.toml" <<TOML
[worker]
name = "worker-$w"
coordinator = "127.0.0.1:$c_port"
$([[ $insecure == 1 ]] && echo "insecure_dev = true" || echo "tls_dir = \"$rdir/worker-$w-tls\"")
kinds = ["local"]
concurrency = 2
chunk_store = "$rdir/chunks"
master_key_file = "$rdir/master.key"
pool_key_file = "$rdir/pool.key"
${SHOEBOX_WORKER_EXTRA:-}
TOML
    sbx_start_worker "$w"
  done
  sbcli dest add nas --kind local --set "root=$rdir/dest" >/dev/null
  for d in a b; do
    cat >"$rdir/agent-$d.toml" <<TOML
[coordinator]
address = "127.0.0.1:$c_port"
$([[ $insecure == 1 ]] && echo "insecure_dev = true" || echo "tls_dir = \"$rdir/agent-$d-tls\"")
[agent]
device_name = "device-$d"
state_dir = "$rdir/agent-$d"
settle_seconds = 0
${SHOEBOX_AGENT_EXTRA:-}
[[folder]]
path = "$lib/src-$d"
all_files = true
TOML
    [[ $insecure == 1 ]] || sbcli enroll-token --device "device-$d" 2>/dev/null \
      | "$AGENT" --config "$rdir/agent-$d.toml" enroll --token - >/dev/null \
      || sb_die "device-$d could not enroll"
  done
  # Untimed: each agent says hello once with every file excluded, so that its
  # device exists and is bound to the destination before the timed runs (the
  # steady state: a destination is bound long before new photos arrive).
  for d in a b; do
    sed -e 's|^all_files = true$|all_files = true\nexclude = ["*"]|' \
        -e "s|^state_dir = .*|state_dir = \"$rdir/agent-$d-register\"|" \
        "$rdir/agent-$d.toml" >"$rdir/agent-$d-register.toml"
    "$AGENT" --config "$rdir/agent-$d-register.toml" run --once --no-progress >"$rdir/agent-$d-register.log" 2>&1 \
      || sb_die "agent $d could not register, see $rdir/agent-$d-register.log"
    sbcli bind --device "device-$d" --dest nas >/dev/null
  done
  [[ $(sbcli status --json | python3 -c 'import json,sys; print(sum(d["files"] for d in json.load(sys.stdin)["devices"]))') == 0 ]] \
    || sb_die "registering the agents backed up files; see $rdir/agent-*-register.log"
  for w in 1 2; do kill -0 "$(cat "$rdir/worker-$w.pid")" 2>/dev/null || sb_die "worker-$w exited, see $rdir/worker-$w.log"; done
  catalog_base=$(psql_q "SELECT pg_database_size('$db')")
}

sbx_teardown() {
  local p
  for p in worker-1 worker-2 coordinator; do sb_stop "$rdir/$p.pid" 60; done
  # The catalog database stays until the cluster is removed at exit: dropping
  # it deletes hundreds of files right before the next tool runs (see the
  # note on deleting round data below).
}

run_shoebox() {
  local phase=$1 alone=${2:-0} t0 t_end d p pids=() rc=0 want cmp_args=() ingest e2e mem_a mem_b
  # The first backup is also measured with no delivery running: in an
  # instance of its own whose workers are stopped until both agents are done.
  if [[ $phase == first && $alone == 0 ]]; then
    local main_rdir=$rdir
    rdir="$main_rdir/alone"; mkdir -p "$rdir"; sbx_tag=_alone
    sbx_setup
    run_shoebox first 1
    sbx_teardown
    rdir=$main_rdir; sbx_tag=""
    sync
  fi
  if ((alone)); then
    for p in worker-1 worker-2; do sb_stop "$rdir/$p.pid" 60; done
  fi
  for p in coordinator worker-1 worker-2; do
    [[ -f $rdir/$p.pid ]] && kill -0 "$(cat "$rdir/$p.pid")" 2>/dev/null && echo 5 >"/proc/$(cat "$rdir/$p.pid")/clear_refs"
  done
  local cpu0=() cpu1=()
  for p in coordinator worker-1 worker-2; do
    if ((alone)) && [[ $p == worker-* ]]; then cpu0+=(0); else cpu0+=("$(proc_cpu "$(cat "$rdir/$p.pid")")"); fi
  done
  cpu0+=("$(pg_cpu)")
  t0=$(now)
  for d in a b; do
    "$TIME" -f '%e %M %U %S' -o "$rdir/agent-$d-$phase.time" \
      "$AGENT" --config "$rdir/agent-$d.toml" run --once --no-progress >"$rdir/agent-$d-$phase.log" 2>&1 &
    pids+=($!); bg_pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  ((rc == 0)) || sb_die "an agent failed (exit $rc), see $rdir/agent-*-$phase.log"
  ingest=$(max_of "$(time_s "$rdir/agent-a-$phase.time")" "$(time_s "$rdir/agent-b-$phase.time")")
  if ((alone)); then  # deliveries start only now (untimed for the ingest figure)
    for p in 1 2; do sbx_start_worker "$p"; done
  fi
  want=$((files_a + files_b))
  [[ $phase == changed ]] && cmp_args=(--cmp-list "$rdir/changed.list")
  t_end=$(SHOEBOX_CLI_CONFIG="$rdir/cli.toml" python3 "$PY" wait --cli "$CLI" --timeout $((600 + size_mb)) --want-delivered "$want" --lib "$lib" --dest "$rdir/dest" \
          --status-out "$rdir/status-$phase.json" "${cmp_args[@]}" 2>>"$rdir/wait.log") \
    || sb_die "Shoebox deliveries did not finish ($phase), see $rdir/wait.log and shoebox status"
  e2e=$(sub "$t0" "$t_end")
  for p in coordinator worker-1 worker-2; do cpu1+=("$(proc_cpu "$(cat "$rdir/$p.pid")")"); done
  cpu1+=("$(pg_cpu)")
  mem_a=$(time_kb "$rdir/agent-a-$phase.time"); mem_b=$(time_kb "$rdir/agent-b-$phase.time")
  local hwm=()
  for p in coordinator worker-1 worker-2; do
    hwm+=("$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$rdir/$p.pid")/status")")
  done
  local cat_now
  cat_now=$(psql_q "SELECT pg_database_size('shoebox_r$round$sbx_tag')")
  record "$( ((alone)) && echo shoebox_alone || echo shoebox)" "$phase" "$e2e" "$ingest" \
    "{\"agent\": $(max_of "$mem_a" "$mem_b"), \"coordinator\": ${hwm[0]}, \"worker-1\": ${hwm[1]}, \"worker-2\": ${hwm[2]}}" \
    "{\"chunk_store\": $(du_b "$rdir/chunks"), \"dest\": $(du_b "$rdir/dest"), \"catalog_db\": $((cat_now - catalog_base)), \"status_stored_bytes\": $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stored_bytes"])' "$rdir/status-$phase.json")}" \
    "{\"agents\": $(sum_of "$(time_cpu "$rdir/agent-a-$phase.time")" "$(time_cpu "$rdir/agent-b-$phase.time")"), \"coordinator\": $(sub "${cpu0[0]}" "${cpu1[0]}"), \"workers\": $(sum_of "$(sub "${cpu0[1]}" "${cpu1[1]}")" "$(sub "${cpu0[2]}" "${cpu1[2]}")"), \"postgres\": $(sub "${cpu0[3]}" "${cpu1[3]}")}"
  if [[ $phase != unchanged ]]; then  # untimed: the destination must equal the sources
    for d in a b; do
      diff -rq "$lib/src-$d" "$rdir/dest/device-$d/src-$d" >"$rdir/verify-$d.txt" \
        || sb_die "Shoebox destination differs from device $d's folder after '$phase' (see $rdir/verify-$d.txt)"
    done
  fi
}

# --- peers -------------------------------------------------------------------------------------
export RESTIC_PASSWORD=compare-bench BORG_PASSPHRASE=compare-bench
peer_setup() {
  if has_tool restic; then
    RESTIC_CACHE_DIR="$rdir/restic-cache" restic -r "$rdir/restic-repo" init >"$rdir/restic-init.log" 2>&1 \
      || sb_die "restic init failed, see $rdir/restic-init.log"
  fi
  if has_tool borg; then
    BORG_BASE_DIR="$rdir/borg-base" borg init -e repokey "$rdir/borg-repo" >"$rdir/borg-init.log" 2>&1 \
      || sb_die "borg init failed, see $rdir/borg-init.log"
  fi
}

run_restic() {
  local phase=$1 t0 t1 d
  t0=$(now)
  for d in a b; do  # one after the other: concurrent backups into one repository store the overlap twice
    RESTIC_CACHE_DIR="$rdir/restic-cache" "$TIME" -f '%e %M %U %S' -o "$rdir/restic-$d-$phase.time" \
      restic -r "$rdir/restic-repo" backup --host "device-$d" "$lib/src-$d" >"$rdir/restic-$d-$phase.log" 2>&1 \
      || sb_die "restic backup failed, see $rdir/restic-$d-$phase.log"
  done
  t1=$(now)
  record restic "$phase" "$(sub "$t0" "$t1")" null \
    "{\"restic\": $(max_of "$(time_kb "$rdir/restic-a-$phase.time")" "$(time_kb "$rdir/restic-b-$phase.time")")}" \
    "{\"repo\": $(du_b "$rdir/restic-repo")}" \
    "{\"restic\": $(sum_of "$(time_cpu "$rdir/restic-a-$phase.time")" "$(time_cpu "$rdir/restic-b-$phase.time")")}"
}

run_borg() {
  local phase=$1 t0 t1 d
  t0=$(now)
  for d in a b; do  # one writer at a time (repository lock)
    BORG_BASE_DIR="$rdir/borg-base" "$TIME" -f '%e %M %U %S' -o "$rdir/borg-$d-$phase.time" \
      borg create "$rdir/borg-repo::device-$d-$phase" "$lib/src-$d" >"$rdir/borg-$d-$phase.log" 2>&1 \
      || sb_die "borg create failed, see $rdir/borg-$d-$phase.log"
  done
  t1=$(now)
  record borg "$phase" "$(sub "$t0" "$t1")" null \
    "{\"borg\": $(max_of "$(time_kb "$rdir/borg-a-$phase.time")" "$(time_kb "$rdir/borg-b-$phase.time")")}" \
    "{\"repo\": $(du_b "$rdir/borg-repo")}" \
    "{\"borg\": $(sum_of "$(time_cpu "$rdir/borg-a-$phase.time")" "$(time_cpu "$rdir/borg-b-$phase.time")")}"
}

run_rclone() {
  local phase=$1 t0 t1 d p pids=() rc=0
  t0=$(now)
  for d in a b; do
    "$TIME" -f '%e %M %U %S' -o "$rdir/rclone-$d-$phase.time" \
      rclone copy --config "$work/rclone.conf" "$lib/src-$d" "$rdir/rclone-dest/device-$d/src-$d" \
      >"$rdir/rclone-$d-$phase.log" 2>&1 &
    pids+=($!); bg_pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  t1=$(now)
  ((rc == 0)) || sb_die "rclone copy failed (exit $rc), see $rdir/rclone-*-$phase.log"
  record rclone "$phase" "$(sub "$t0" "$t1")" null \
    "{\"rclone\": $(max_of "$(time_kb "$rdir/rclone-a-$phase.time")" "$(time_kb "$rdir/rclone-b-$phase.time")")}" \
    "{\"dest\": $(du_b "$rdir/rclone-dest")}" \
    "{\"rclone\": $(sum_of "$(time_cpu "$rdir/rclone-a-$phase.time")" "$(time_cpu "$rdir/rclone-b-$phase.time")")}"
  if [[ $phase != unchanged ]]; then
    for d in a b; do
      diff -rq "$lib/src-$d" "$rdir/rclone-dest/device-$d/src-$d" >/dev/null \
        || sb_die "rclone destination differs from device $d's folder after '$phase'"
    done
  fi
}

# --- rounds ------------------------------------------------------------------------------------
catalog_base=0
for ((round = 1; round <= runs; round++)); do
  rdir="$out/round-$round"; mkdir -p "$rdir"
  n=${#tool_list[@]}; order=()
  for ((i = 0; i < n; i++)); do order+=("${tool_list[$(( (i + round - 1) % n ))]}"); done
  sb_log "round $round of $runs: order ${order[*]}"
  has_tool shoebox && sbx_setup
  peer_setup
  for phase in first unchanged changed; do
    if [[ $phase == changed ]]; then python3 "$PY" modify "$lib" "$round" "$rdir/changed.list"; fi
    # Untimed: write back what the previous tool left dirty (rclone does not
    # fsync: 2 GB of its copies would otherwise be flushed while the next
    # tool runs, on the same disk and CPUs).
    for t in "${order[@]}"; do sync; "run_$t" "$phase"; done
  done
  # Every round's first backup reads the library as generated: put the bytes
  # the 1% phase changed back (their files keep the new mtime).
  python3 "$PY" restore "$lib"
  has_tool shoebox && sbx_teardown
  # Every round starts with the same free memory: drop the page cache of what
  # this round wrote (the files stay; see cmp.py evict and "Disk hygiene").
  sync; python3 "$PY" evict "$rdir"
done

# --- counting pass (untimed): system calls under strace -f -c ------------------------------
# strace_attach NAME PID...: counts the system calls of running processes
# (and of the children they start) into $rdir/strace-NAME.txt until
# strace_detach.
st_pids=()
strace_attach() {
  local name=$1 p args=(); shift
  for p in "$@"; do args+=(-p "$p"); done
  strace -f -c -o "$rdir/strace-$name.txt" "${args[@]}" 2>"$rdir/strace-$name.err" &
  st_pids+=($!); bg_pids+=($!)
}
strace_detach() {
  local p
  for p in "${st_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${st_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  st_pids=()
}
count_record() {  # count_record TOOL NAME=FILE[,FILE]...
  local tool=$1; shift
  printf '{"round": 0, "tool": "%s", "phase": "count", "syscalls": %s}\n' "$tool" \
    "$(python3 "$PY" strace-sum "$@")" >>"$records"
  sb_log "counting pass: $tool done"
}
count_shoebox() {
  local d p pm pids=() rc=0
  sbx_tag=_count; sbx_setup; sbx_tag=""
  strace_attach coordinator "$(cat "$rdir/coordinator.pid")"
  strace_attach workers "$(cat "$rdir/worker-1.pid")" "$(cat "$rdir/worker-2.pid")"
  pm=$(head -n 1 "$pg_dir/postmaster.pid")
  # shellcheck disable=SC2046
  strace_attach postgres "$pm" $(ps -o pid= --ppid "$pm")
  sleep 1  # attached
  for d in a b; do
    strace -f -c -o "$rdir/strace-agent-$d.txt" \
      "$AGENT" --config "$rdir/agent-$d.toml" run --once --no-progress >"$rdir/agent-$d-count.log" 2>&1 &
    pids+=($!); bg_pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  ((rc == 0)) || sb_die "an agent failed under strace (exit $rc), see $rdir/agent-*-count.log"
  SHOEBOX_CLI_CONFIG="$rdir/cli.toml" python3 "$PY" wait --cli "$CLI" --timeout $((1200 + 2 * size_mb)) \
    --want-delivered "$((files_a + files_b))" --lib "$lib" --dest "$rdir/dest" >/dev/null 2>>"$rdir/wait.log" \
    || sb_die "Shoebox deliveries did not finish in the counting pass, see $rdir/wait.log"
  strace_detach
  count_record shoebox "agents=$rdir/strace-agent-a.txt,$rdir/strace-agent-b.txt" \
    "coordinator=$rdir/strace-coordinator.txt" "workers=$rdir/strace-workers.txt" \
    "postgres=$rdir/strace-postgres.txt"
  sbx_teardown
}
count_restic() {
  local d
  for d in a b; do
    RESTIC_CACHE_DIR="$rdir/restic-cache" strace -f -c -o "$rdir/strace-restic-$d.txt" \
      restic -r "$rdir/restic-repo" backup --host "device-$d" "$lib/src-$d" >"$rdir/restic-$d-count.log" 2>&1 \
      || sb_die "restic backup failed under strace, see $rdir/restic-$d-count.log"
  done
  count_record restic "restic=$rdir/strace-restic-a.txt,$rdir/strace-restic-b.txt"
}
count_borg() {
  local d
  for d in a b; do
    BORG_BASE_DIR="$rdir/borg-base" strace -f -c -o "$rdir/strace-borg-$d.txt" \
      borg create "$rdir/borg-repo::device-$d-count" "$lib/src-$d" >"$rdir/borg-$d-count.log" 2>&1 \
      || sb_die "borg create failed under strace, see $rdir/borg-$d-count.log"
  done
  count_record borg "borg=$rdir/strace-borg-a.txt,$rdir/strace-borg-b.txt"
}
count_rclone() {
  local d p pids=() rc=0
  for d in a b; do
    strace -f -c -o "$rdir/strace-rclone-$d.txt" \
      rclone copy --config "$work/rclone.conf" "$lib/src-$d" "$rdir/rclone-dest/device-$d/src-$d" \
      >"$rdir/rclone-$d-count.log" 2>&1 &
    pids+=($!); bg_pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  ((rc == 0)) || sb_die "rclone copy failed under strace (exit $rc), see $rdir/rclone-*-count.log"
  count_record rclone "rclone=$rdir/strace-rclone-a.txt,$rdir/strace-rclone-b.txt"
}
if ((count_pass)); then
  rdir="$out/count"; mkdir -p "$rdir"; round=0
  sb_log "counting pass (untimed, under strace -f -c): ${tool_list[*]}"
  peer_setup
  for t in "${tool_list[@]}"; do sync; "count_$t"; done
  sync; python3 "$PY" evict "$rdir"
fi
rdir=""
python3 - "$out/meta.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
echo
python3 "$PY" report "$records" "$out/meta.json" "$out/results.json"
cp "$out/results.json" "$work/results.json"
echo
sb_log "results: $out/results.json (also $work/results.json)"
