#!/usr/bin/env bash
# End-to-end (issue 23): PostgreSQL high availability is PostgreSQL's own.
# A primary and a streaming replica (pg_basebackup, synchronous replication:
# a commit returns only once the replica has it), a coordinator whose
# database.url names both hosts with target_session_attrs=read-write, one
# worker, a local destination and a device. The device backs up; the primary
# is killed with SIGKILL while the device sends more; the replica is
# promoted; the coordinator reconnects to it by itself; a third batch
# follows. At the end every file of the three batches is at the destination
# byte for byte, a restore of the device from the promoted catalog equals
# its folder, and the coordinator logged its reconnect. docs/deploy.md
# ("PostgreSQL high availability") says how to run this in production.
#   tests/e2e/pg_failover_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:?usage: pg_failover_test.sh BUILD_DIR}"
SB_NAME=e2e-pg-failover
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/drive_stack.sh"
kind=local

drive_stack_work pg-failover
failover_cleanup() {
  local rc=$?
  sb_stop "$work/agent.pid" 20
  sb_pg_stop "$work/pg2"
  (exit $rc)
  drive_stack_cleanup
}
trap failover_cleanup EXIT

batch() {  # batch N: a few photos, a video and an odd name in src/batch-N
  local d="$work/src/batch-$1" i
  mkdir -p "$d"
  for i in 1 2 3 4 5; do sb_gen_jpeg "$d/IMG_$1$i.jpg" "$1$i" "2024:0$1:0$i 10:00:00"; done
  sb_gen_mp4 "$d/clip $1.mp4" "$1" 2
  sb_gen_random "$d/Été #$1 (copy).mov" $((2 * 1024 * 1024 + $1))
}

# --- the primary and its synchronous replica -----------------------------------------
p1=$(sb_free_port); p2=$(sb_free_port)
sb_pg_start "$work/pg" "$p1"
mkdir -p "$work/pg2"; chmod 700 "$work/pg2"
[[ $(id -u) == 0 ]] && chown postgres:postgres "$work/pg2"
# initdb's default pg_hba.conf lets 127.0.0.1 replicate (trust here, as the
# test cluster is private); -R writes standby.signal and primary_conninfo.
sb_pg_run "$SB_PGBIN/pg_basebackup" -D "$work/pg2" -R -X stream -c fast \
  -d "host=127.0.0.1 port=$p1 user=shoebox application_name=replica" >"$work/basebackup.log" 2>&1 \
  || sb_die "pg_basebackup failed, see $work/basebackup.log"
sb_pg_start "$work/pg2" "$p2"
psql1() { sb_pg_run "$SB_PGBIN/psql" -h 127.0.0.1 -p "$p1" -U shoebox -d shoebox -tAc "$1"; }
psql2() { sb_pg_run "$SB_PGBIN/psql" -h 127.0.0.1 -p "$p2" -U shoebox -d shoebox -tAc "$1"; }
for i in $(seq 1 100); do
  [[ $(psql1 "SELECT state FROM pg_stat_replication WHERE application_name='replica'") == streaming ]] && break
  sleep 0.2
done
psql1 "ALTER SYSTEM SET synchronous_standby_names = 'replica'" >/dev/null
psql1 "SELECT pg_reload_conf()" >/dev/null
for i in $(seq 1 100); do
  [[ $(psql1 "SELECT sync_state FROM pg_stat_replication WHERE application_name='replica'") == sync ]] && break
  sleep 0.2
done
[[ $(psql1 "SELECT sync_state FROM pg_stat_replication WHERE application_name='replica'") == sync ]] \
  || sb_die "the replica is not a synchronous standby"
[[ $(psql2 "SELECT pg_is_in_recovery()") == t ]] || sb_die "the replica is not in recovery"
sb_log "primary on $p1, synchronous replica on $p2"

# --- the stack, its catalog through a multi-host connection string -----------------
DATABASE_URL="postgresql://shoebox@127.0.0.1:$p1,127.0.0.1:$p2/shoebox?target_session_attrs=read-write&connect_timeout=3"
drive_stack_catalog
drive_stack_device
mkdir -p "$work/dest"
sb dest add nas --kind local --set "root=$work/dest" >/dev/null

files() { find "$work/src" -type f | wc -l; }
agent_once() {
  "$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress >>"$work/agent.log" 2>&1
}

batch 1
agent_once || sb_die "the agent failed before the failover"
sb bind --device phone --dest nas >/dev/null
wait_delivered "$(files)"
sb_log "batch 1: $(files) files delivered through the primary"

# --- kill the primary while the device sends batch 2; promote the replica ----------
batch 2
agent_once &
apid=$!
sleep 0.5
kill -9 "$(head -n 1 "$work/pg/postmaster.pid")"
sb_log "primary killed (SIGKILL)"
sleep 3
sb_pg_run "$SB_PGBIN/pg_ctl" -D "$work/pg2" -w -t 60 promote >/dev/null || sb_die "promote failed"
[[ $(psql2 "SELECT pg_is_in_recovery()") == f ]] || sb_die "the replica was not promoted"
sb_log "replica promoted"
wait $apid || sb_die "the agent failed across the failover (see agent.log)"
batch 3
agent_once || sb_die "the agent failed after the failover"
wait_delivered "$(files)"
sb_log "batches 1-3: $(files) files delivered"

# --- nothing lost -------------------------------------------------------------------------
grep -q "event=db_reconnected" "$work/coordinator.log" \
  || sb_die "the coordinator logged no db_reconnected after the failover"
for f in "$work"/src/batch-*/*; do
  rel=${f#"$work/src/"}
  # The local destination's layout: DEVICE/FOLDER/PATH.
  cmp -s "$f" "$work/dest/phone/src/$rel" || sb_die "$rel is not at the destination byte for byte"
done
sb restore --device phone --to "$work/restored" >"$work/restore.out" 2>&1 \
  || { cat "$work/restore.out"; sb_die "restore from the promoted catalog failed"; }
diff -r "$work/src" "$work/restored" >"$work/restore.diff" 2>&1 \
  || { cat "$work/restore.diff"; sb_die "the restored device differs from its folder"; }
[[ $(psql2 "SELECT count(*) FROM schema_migrations") -gt 0 ]] || sb_die "no catalog on the promoted server"
sb_log "PASS: $(files) files, every one delivered and restored after the primary was killed"
