#!/usr/bin/env bash
# A million files (issue 23; docs/performance.md, "A million files"):
# `shoebox status` on a catalog of N files (default 1,000,000), generated
# directly in PostgreSQL through the real schema (files, versions, one chunk
# each, deliveries to 2 destinations in a mix of states), then the real CLI
# against a real coordinator: the median of 20 calls. Also the time of the
# copies summary as a full recount (the query `status` ran before migration
# 14) and, where the build has them, as a read of the counters; and the
# ReportFiles ingest rate (shoebox_coordinator_bench, its own database).
#
#   bench/status_scale.sh BUILD_DIR [--files N] [--calls 20] [--label NAME] [--out FILE.json]
#                                   [--ingest-files 100000]
#
# BUILD_DIR is a build tree (build/release); run it once with the tree of
# the commit before the change and once after for the before/after figure.
# Everything runs in a temporary directory and is removed at the end
# (KEEP=1 keeps it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:?usage: status_scale.sh BUILD_DIR [--files N] [--calls N] [--label NAME] [--out FILE]}"
shift
bin="$(cd "$bin" && pwd)"
files=1000000 calls=20 label=run out="" ingest_files=100000
while [[ $# -gt 0 ]]; do
  case $1 in
    --files) files=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --ingest-files) ingest_files=$2; shift 2 ;;
    *) echo "status_scale.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
SB_NAME=status_scale
source "$here/deploy/lib.sh"
source "$here/bench/scale_catalog.sh"
for b in coordinator/shoebox-coordinator cli/shoebox; do
  [[ -x $bin/$b ]] || sb_die "$bin/$b not found: build it first (cmake --build $bin --target shoebox shoebox-coordinator)"
done

started=$(date -u +%Y-%m-%dT%H:%MZ)
work="$(mktemp -d /tmp/shoebox-status-scale.XXXXXX)"
chmod 755 "$work"
cleanup() {
  local rc=$?
  sb_stop "$work/coordinator.pid" 20
  sb_pg_stop "$work/pg"
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.log "$work"/pg/server.log; do [[ -f $l ]] && { echo "===== $l (tail)"; tail -n 30 "$l"; }; done
  fi
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

scale_catalog_up
cat >"$work/cli.toml" <<TOML
coordinator = "127.0.0.1:$c_port"
insecure_dev = true
TOML
export SHOEBOX_CLI_CONFIG="$work/cli.toml"

# --- the catalog: through the real schema, in batches --------------------------
# Two devices (laptop, phone), one folder each, two destinations. Per file:
# one version (99% complete, 1% waiting for chunks, 5% dedup hits), one
# stored chunk, and a delivery to each destination: nas 90% delivered, 4%
# queued, 3% failed (retry wait), 1% dead, 2% leased; cloud 60% delivered,
# 35% queued, 5% dead.
sb_log "generating $files files ($bin)"
t0=$(date +%s.%N)
psql_ <<'SQL'
INSERT INTO devices (name, last_seen) VALUES ('laptop', now()), ('phone', now());
INSERT INTO folders (device_id, root) SELECT id, convert_to('/home/u/Pictures', 'UTF8') FROM devices;
INSERT INTO destinations (name, kind) VALUES ('nas', 'local'), ('cloud', 's3');
INSERT INTO bindings (device_id, destination_id) SELECT d.id, ds.id FROM devices d, destinations ds;
SQL
batch=100000
for ((a = 1; a <= files; a += batch)); do
  b=$((a + batch - 1)); ((b > files)) && b=$files
  psql_ <<SQL
BEGIN;
INSERT INTO files (id, folder_id, path, current_version_id)
  SELECT g, (SELECT min(id) FROM folders) + g % 2,
         convert_to('2024/' || g / 1000 || '/IMG_' || g || '.jpg', 'UTF8'), g
  FROM generate_series($a, $b) g;
INSERT INTO chunks (id, size, stored_size, stored, refcount, stored_at)
  SELECT sha256(int8send(g)), 2000000 + g % 3000000, 2000040 + g % 3000000, true, 1, now()
  FROM generate_series($a, $b) g;
INSERT INTO file_versions (id, file_id, size, mtime_ns, sha256, chunk_list, state, missing_count,
                           dedup, completed_at)
  SELECT g, g, 2000000 + g % 3000000, 1700000000000000000 + g, sha256(int8send(g)),
         sha256(int8send(g)) || int4send(2000000 + (g % 3000000)::int),
         CASE WHEN g % 100 = 0 THEN 1 ELSE 2 END, CASE WHEN g % 100 = 0 THEN 1 ELSE 0 END,
         g % 20 = 0, now()
  FROM generate_series($a, $b) g;
INSERT INTO jobs (kind, state, destination_id, version_id, device_id, attempts, last_error,
                  lease_deadline, finished_at)
  SELECT 1, s.state, ds.id, g, fo.device_id, CASE WHEN s.state IN (4, 5) THEN 3 ELSE 1 END,
         CASE WHEN s.state IN (4, 5) THEN 'HTTP 503 from the destination' ELSE '' END,
         CASE WHEN s.state = 2 THEN now() + interval '1 hour' END,
         CASE WHEN s.state IN (3, 5) THEN now() END
  FROM generate_series($a, $b) g
  JOIN folders fo ON fo.id = (SELECT min(id) FROM folders) + g % 2
  CROSS JOIN destinations ds
  CROSS JOIN LATERAL (SELECT CASE
      WHEN ds.name = 'nas' THEN CASE WHEN g % 100 < 90 THEN 3 WHEN g % 100 < 94 THEN 1
                                     WHEN g % 100 < 97 THEN 4 WHEN g % 100 < 98 THEN 5 ELSE 2 END
      ELSE CASE WHEN g % 100 < 60 THEN 3 WHEN g % 100 < 95 THEN 1 ELSE 5 END END AS state) s
  WHERE g % 100 <> 0;
COMMIT;
SQL
done
psql_ <<'SQL'
SELECT setval('files_id_seq', (SELECT max(id) FROM files));
SELECT setval('file_versions_id_seq', (SELECT max(id) FROM file_versions));
VACUUM ANALYZE;
SQL
gen_s=$(echo "$(date +%s.%N) - $t0" | bc)
sb_log "generated in ${gen_s} s: $(psql_ -tAc "SELECT count(*) FROM files") files, $(psql_ -tAc "SELECT count(*) FROM jobs") deliveries"

# --- shoebox status: the real CLI against the real coordinator ----------------
# A call that fails (the CLI's 30 s deadline) is timed as well and counted.
"$bin/cli/shoebox" status >"$work/status.txt" 2>&1 || true
sed -n 1,40p "$work/status.txt" >&2
times=() failed=0 error=""
for ((i = 0; i < calls; i++)); do
  s=$(date +%s%N)
  if ! "$bin/cli/shoebox" status >/dev/null 2>"$work/status.err"; then
    failed=$((failed + 1))
    error=$(head -1 "$work/status.err" | tr -d '"\\')
  fi
  e=$(date +%s%N)
  times+=($(((e - s) / 1000)))
done
median_ms() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'; }
min_ms() { printf '%s\n' "$@" | sort -n | head -1 | awk '{printf "%.1f", $1/1000}'; }
max_ms() { printf '%s\n' "$@" | sort -n | tail -1 | awk '{printf "%.1f", $1/1000}'; }
status_median=$(median_ms "${times[@]}")
sb_log "shoebox status: median ${status_median} ms over $calls calls ($(min_ms "${times[@]}")..$(max_ms "${times[@]}") ms), $failed failed${error:+: $error}"

# --- the copies summary: full recount vs counters -----------------------------
sql_ms() {  # median of 5 runs of one statement, in ms (psql \timing)
  local sql=$1 i t=()
  for ((i = 0; i < 5; i++)); do
    t+=("$(printf '\\timing on\n%s\n' "$sql" | psql_ -tA | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)")
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n 3p
}
recount_sql="WITH cur AS (SELECT v.id, v.chunk_list FROM files f JOIN file_versions v ON v.id = f.current_version_id WHERE v.deleted_at IS NULL AND v.state = 2), dmg AS (SELECT d.chunk_id FROM chunk_damage d JOIN chunks c ON c.id = d.chunk_id WHERE d.repaired_at IS NULL AND NOT c.stored), dst AS (SELECT version_id, count(DISTINCT destination_id) AS n FROM jobs WHERE kind = 1 AND state = 3 AND version_id IN (SELECT id FROM cur) AND destination_id NOT IN (SELECT id FROM destinations WHERE removed_at IS NOT NULL) GROUP BY version_id), n AS (SELECT (CASE WHEN NOT EXISTS (SELECT 1 FROM dmg WHERE position(dmg.chunk_id IN cur.chunk_list) > 0) THEN 1 ELSE 0 END) + COALESCE(dst.n, 0) AS copies FROM cur LEFT JOIN dst ON dst.version_id = cur.id) SELECT count(*) FILTER (WHERE copies >= 1), count(*) FILTER (WHERE copies >= 2), count(*) FILTER (WHERE copies >= 3), count(*) FILTER (WHERE copies = 0) FROM n;"
recount_ms=$(sql_ms "$recount_sql")
recount_answer=$(echo "$recount_sql" | psql_ -tA)
counters_ms=null counters_answer=""
if [[ $(psql_ -tAc "SELECT to_regclass('status_version_counts') IS NOT NULL") == t ]]; then
  counters_sql="SELECT sum(copies0) + sum(copies1) + sum(copies2) + sum(copies3), sum(copies1) + sum(copies2) + sum(copies3), sum(copies2) + sum(copies3), 0 FROM status_version_counts;"
  counters_ms=$(sql_ms "$counters_sql")
  counters_answer=$(echo "$counters_sql" | psql_ -tA)
  [[ $counters_answer == "$recount_answer" ]] || sb_die "counters ($counters_answer) differ from the recount ($recount_answer)"
fi
sb_log "copies summary (>=1|>=2|>=3|none = $recount_answer): recount ${recount_ms} ms, counters ${counters_ms} ms"

# --- ReportFiles ingest (its own durable database) ----------------------------
ingest_1=null ingest_2=null
if [[ -x $bin/bench/shoebox_coordinator_bench && $ingest_files -gt 0 ]]; then
  sb_log "ReportFiles ingest: shoebox_coordinator_bench $ingest_files 5000 5000 4 2"
  "$bin/bench/shoebox_coordinator_bench" "$ingest_files" 5000 5000 4 2 >"$work/ingest.txt" 2>&1 \
    || { cat "$work/ingest.txt" >&2; sb_die "shoebox_coordinator_bench failed"; }
  cat "$work/ingest.txt" >&2
  ingest_1=$(sed -n 's/^ingest: .* in batches of .*, \([0-9]*\) files\/s$/\1/p' "$work/ingest.txt")
  ingest_2=$(sed -n 's/^ingest: .* devices at once: .*, \([0-9]*\) files\/s$/\1/p' "$work/ingest.txt")
fi

commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
json=$(cat <<JSON
{
  "schema": "shoebox-bench-result/1",
  "benchmark": "status_scale",
  "label": "$label",
  "date_utc": "$started",
  "build": "$bin",
  "commit": "$commit",
  "command": "bench/status_scale.sh $bin --files $files --calls $calls --ingest-files $ingest_files",
  "cpu": "$cpu",
  "files": $files,
  "catalog_generation_s": $gen_s,
  "measures": {
    "status_cli_ms": {"median": $status_median, "min": $(min_ms "${times[@]}"), "max": $(max_ms "${times[@]}"), "calls": $calls, "failed": $failed, "error": "$error", "goal": 100},
    "copies_summary_recount_ms": {"median": $recount_ms},
    "copies_summary_counters_ms": {"median": $counters_ms},
    "report_files_per_s_1_device": ${ingest_1:-null},
    "report_files_per_s_2_devices": ${ingest_2:-null}
  },
  "copies_summary": "$recount_answer"
}
JSON
)
echo "$json"
[[ -n $out ]] && echo "$json" >"$out"
exit 0
