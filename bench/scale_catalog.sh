# The catalog of the million-file benchmarks (status_scale.sh,
# deleted_scale.sh): a private PostgreSQL in $work/pg, `psql_` on it, and a
# coordinator (insecure_dev, loopback) started once so the schema is in
# place, left running (pid in $work/coordinator.pid). Source it after
# deploy/lib.sh with $work and $bin set; sets pg_port and c_port.
scale_catalog_up() {
  pg_port=$(sb_free_port)
  c_port=$(sb_free_port)
  sb_pg_start "$work/pg" "$pg_port"
  psql_() { "$SB_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U shoebox -d shoebox "$@"; }
  cat >"$work/coordinator.toml" <<TOML
[coordinator]
listen = "127.0.0.1:$c_port"
key_file = "$work/master.key"
insecure_dev = true
[database]
url = "postgresql://shoebox@127.0.0.1:$pg_port/shoebox"
[chunk_store]
location = "$work/chunks"
TOML
  sb_start coordinator "$work/coordinator.log" "$work/coordinator.pid" \
    "$bin/coordinator/shoebox-coordinator" --config "$work/coordinator.toml"
  sb_wait_port 127.0.0.1 "$c_port" 60 || sb_die "coordinator did not start"
}
