#!/usr/bin/env bash
# Recently deleted at a million files (issue 22; docs/web.md "Recently
# deleted"): a catalog of N files (default 1,000,000) generated directly in
# PostgreSQL through the real schema (migrations applied by a real
# coordinator), 2% of them deleted over the last 120 days, then the
# ListDeleted query's plan (EXPLAIN ANALYZE) and median time (5 runs) for:
# the first page of every device, a page deep in the list (keyset), and a
# member's view of one device.
#
#   bench/deleted_scale.sh BUILD_DIR [--files N]
#
# Everything runs in a temporary directory and is removed at the end
# (KEEP=1 keeps it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:?usage: deleted_scale.sh BUILD_DIR [--files N]}"
shift
bin="$(cd "$bin" && pwd)"
files=1000000
while [[ $# -gt 0 ]]; do
  case $1 in
    --files) files=$2; shift 2 ;;
    *) echo "deleted_scale.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
SB_NAME=deleted_scale
source "$here/deploy/lib.sh"
source "$here/bench/scale_catalog.sh"
[[ -x $bin/coordinator/shoebox-coordinator ]] || sb_die "build shoebox-coordinator in $bin first"
work="$(mktemp -d /tmp/shoebox-deleted-scale.XXXXXX)"
chmod 755 "$work"
cleanup() {
  local rc=$?
  sb_stop "$work/coordinator.pid" 20
  sb_pg_stop "$work/pg"
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
scale_catalog_up
sb_stop "$work/coordinator.pid" 20  # the schema is in place

sb_log "generating $files files"
psql_ <<'SQL'
INSERT INTO devices (name, last_seen) VALUES ('laptop', now()), ('phone', now());
INSERT INTO folders (device_id, root) SELECT id, convert_to('/home/u/Pictures', 'UTF8') FROM devices;
SQL
batch=200000
for ((a = 1; a <= files; a += batch)); do
  b=$((a + batch - 1)); ((b > files)) && b=$files
  psql_ <<SQL
BEGIN;
INSERT INTO files (id, folder_id, path, current_version_id)
  SELECT g, (SELECT min(id) FROM folders) + g % 2,
         convert_to('2024/' || g / 1000 || '/IMG_' || g || '.jpg', 'UTF8'), g
  FROM generate_series($a, $b) g;
INSERT INTO file_versions (id, file_id, size, mtime_ns, sha256, chunk_list, state, completed_at,
                           deleted_at)
  SELECT g, g, 2000000 + g % 3000000, 1700000000000000000 + g, sha256(int8send(g)),
         sha256(int8send(g)) || int4send(2000000 + (g % 3000000)::int), 2, now(),
         CASE WHEN g % 50 = 7 THEN now() - (g % 120) * interval '1 day' - g * interval '1 ms' END
  FROM generate_series($a, $b) g;
COMMIT;
SQL
done
psql_ <<'SQL'
SELECT setval('files_id_seq', (SELECT max(id) FROM files));
SELECT setval('file_versions_id_seq', (SELECT max(id) FROM file_versions));
VACUUM ANALYZE;
SQL
sb_log "$(psql_ -tAc "SELECT count(*) FROM files") files, $(psql_ -tAc "SELECT count(*) FROM file_versions WHERE deleted_at IS NOT NULL") deleted"

# One batch of RestoreStore::ListDeleted (coordinator/store/restore_store.cc):
# 200 candidates from the index, filtered; a page of 50 takes one batch when
# a quarter of them are wanted, more otherwise.
query() {  # $1 before_us, $2 before_id, $3 all devices, $4 device ids
  local t
  t="$(date -u -d @$(($1 / 1000000)) '+%Y-%m-%d %H:%M:%S').$(printf '%06d' $(($1 % 1000000)))+00"
  cat <<SQL
WITH c AS MATERIALIZED (SELECT id, file_id, deleted_at FROM file_versions
  WHERE deleted_at IS NOT NULL AND ($1::bigint = 0 AND $2::bigint = 0 OR
  (deleted_at, id) < ('$t'::timestamptz, $2::bigint))
  ORDER BY deleted_at DESC, id DESC LIMIT 200)
SELECT c.id, d.name, fo.root, f.path, epoch_ms(c.deleted_at),
  (extract(epoch FROM c.deleted_at) * 1000000)::bigint, v.size, v.mtime_ns,
  COALESCE(rp.deleted_keep_days, 90::int),
  (f.current_version_id = c.id AND c.deleted_at > now() -
   make_interval(days => COALESCE(rp.deleted_keep_days, 90::int))
   AND ($3::boolean OR fo.device_id = ANY('$4'::bigint[]))) AS wanted
FROM c JOIN file_versions v ON v.id = c.id
JOIN files f ON f.id = c.file_id
JOIN folders fo ON fo.id = f.folder_id
JOIN devices d ON d.id = fo.device_id
LEFT JOIN retention_policies rp ON rp.folder_id = fo.id
ORDER BY c.deleted_at DESC, c.id DESC
SQL
}
median5() {
  local sql=$1 i t=()
  for ((i = 0; i < 5; i++)); do
    t+=("$(printf '\\timing on\n%s;\n' "$sql" | psql_ -tA | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)")
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n 3p
}
deep=$(psql_ -tAc "SELECT (extract(epoch FROM deleted_at) * 1000000)::bigint || ' ' || id FROM file_versions WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC OFFSET 10000 LIMIT 1")
phone=$(psql_ -tAc "SELECT id FROM devices WHERE name = 'phone'")
cases=("first batch, every device|0 0 true {}")
if [[ -n $deep ]]; then
  cases+=("batch after 10,000 deletions|$deep true {}")
else
  sb_log "fewer than 10,001 deletions (one file in 50 is deleted: --files 500050 or more): the deep case is left out"
fi
cases+=("member of one device, first batch|0 0 false {$phone}")
for case_ in "${cases[@]}"; do
  name=${case_%%|*}
  read -r us id all devs <<<"${case_#*|}"
  # As RestoreStore sets them for its transaction (restore_store.cc).
  sql="SET enable_bitmapscan = off; $(query "$us" "$id" "$all" "$devs")"
  echo "=== $name: median of 5 $(median5 "$sql") ms"
  echo "SET enable_bitmapscan = off; EXPLAIN (ANALYZE, BUFFERS) $(query "$us" "$id" "$all" "$devs");" | psql_ | sed 's/^/    /'
done
