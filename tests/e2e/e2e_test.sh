#!/usr/bin/env bash
# End-to-end: PostgreSQL, a coordinator, two workers and two agents as real
# processes on loopback. Two devices whose photo folders overlap by a third
# back up; every file must arrive byte for byte at a local directory and at
# s3rver, the overlap must be stored once, and one device restored into an
# empty directory must match its source. Everything speaks mutual TLS: the
# workers and agents enroll with one-time tokens from `shoebox enroll-token`,
# and at the end no log may contain a token, a key or a credential.
#   tests/e2e/e2e_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:?usage: e2e_test.sh BUILD_DIR}"
SB_NAME=e2e
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/e2e_checks.sh"
export PATH="$here/build/tools/node_modules/.bin:$PATH"

work="$(mktemp -d /tmp/shoebox-e2e.XXXXXX)"
chmod 755 "$work"
cleanup() {
  local rc=$?
  for p in agent-a agent-b worker-1 worker-2 coordinator s3rver; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.log; do [[ $l == *initdb* ]] && continue; echo "===== $l (tail)"; tail -n 30 "$l"; done
  fi
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# --- media: shared third, and one third only on each device ------------------
sb_log "generating media in $work"
mkdir -p "$work/src-a/2023/summer" "$work/src-b/phone/DCIM"
shared=() ; n=0
gen_set() {  # gen_set DIR PREFIX FROM TO
  local dir=$1 p=$2 i
  for ((i = $3; i < $4; i++)); do
    sb_gen_jpeg "$dir/${p}IMG_$i.jpg" "$i" "2023:0$((i % 9 + 1)):1$((i % 9)) 12:34:56"
  done
  sb_gen_mp4 "$dir/${p}clip_$3.mp4" "$3" 2
  sb_gen_random "$dir/${p}bulk_$3.mov" $((3 * 1024 * 1024 + $3))
}
gen_set "$work/src-a/2023/summer" "" 0 6          # device A only
gen_set "$work/src-b/phone/DCIM" "" 100 106       # device B only
mkdir -p "$work/shared"
gen_set "$work/shared" "shared-" 200 206         # both
cp -a "$work/shared/." "$work/src-a/2023/"
mkdir -p "$work/src-b/phone/from-laptop"
cp -a "$work/shared/." "$work/src-b/phone/from-laptop/"
# An awkward name too.
cp "$work/src-a/2023/summer/IMG_1.jpg" "$work/src-a/2023/Été #1 (copy)+&.jpg"
files_a=$(find "$work/src-a" -type f | wc -l)
files_b=$(find "$work/src-b" -type f | wc -l)
unique_bytes=$(find "$work/src-a/2023/summer" "$work/src-b/phone/DCIM" "$work/shared" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
sb_log "device A: $files_a files, device B: $files_b files, distinct content: $unique_bytes bytes"

# --- servers --------------------------------------------------------------------
pg_port=$(sb_free_port); c_port=$(sb_free_port); s3_port=$(sb_free_port)
sb_pg_start "$work/pg" "$pg_port"
mkdir -p "$work/s3rver" "$work/dest-local" "$work/chunks"
sb_start s3rver "$work/s3rver.log" "$work/s3rver.pid" \
  s3rver --directory "$work/s3rver" --port "$s3_port" --address 127.0.0.1 --configure-bucket photos --silent
sb_wait_port 127.0.0.1 "$s3_port" 30 || sb_die "s3rver did not start"

caddr="127.0.0.1:$c_port"
# s3rver checks no signature, so this secret works; being unique, it can be
# looked for in the logs afterwards.
s3_secret="e2e-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat >"$work/coordinator.toml" <<TOML
[coordinator]
listen = "$caddr"
key_file = "$work/master.key"
[database]
url = "postgresql://shoebox@127.0.0.1:$pg_port/shoebox"
[chunk_store]
location = "$work/chunks"
TOML
"$bin/cli/shoebox" pool-key --private "$work/pool.key" --public "$work/pool.pub" >/dev/null
sb_start coordinator "$work/coordinator.log" "$work/coordinator.pid" \
  "$bin/coordinator/shoebox-coordinator" --config "$work/coordinator.toml"
sb_wait_port 127.0.0.1 "$c_port" 60 || sb_die "coordinator did not start"
cat >"$work/cli.toml" <<TOML
coordinator = "$caddr"
tls_dir = "$work/tls"
pool_public_key = "$work/pool.pub"
TOML
export SHOEBOX_CLI_CONFIG="$work/cli.toml"
sb() { "$bin/cli/shoebox" "$@"; }
tokens=()
for w in 1 2; do
  tok=$(sb enroll-token --worker "worker-$w" 2>/dev/null)
  tokens+=("$tok")
  "$bin/workers/shoebox-worker" enroll --coordinator "$caddr" --token "$tok" --tls-dir "$work/worker-$w-tls" \
    >>"$work/enroll.log" 2>&1 || sb_die "worker-$w could not enroll"
  cat >"$work/worker-$w.toml" <<TOML
[worker]
name = "worker-$w"
coordinator = "$caddr"
tls_dir = "$work/worker-$w-tls"
kinds = ["local", "s3"]
concurrency = 2
chunk_store = "$work/chunks"
master_key_file = "$work/master.key"
pool_key_file = "$work/pool.key"
TOML
  sb_start "worker-$w" "$work/worker-$w.log" "$work/worker-$w.pid" \
    "$bin/workers/shoebox-worker" --config "$work/worker-$w.toml"
done

# Deliveries yield the CPU to ingest (worker.nice, 10 by default): every
# thread of each worker runs at nice 10.
sleep 1
for w in 1 2; do
  nices=$(ps -L -o ni= -p "$(cat "$work/worker-$w.pid")" | sort -u | tr -d ' ')
  [[ $nices == 10 ]] || sb_die "worker-$w threads run at nice '$nices', expected 10 (worker.nice)"
  # Started in a session of its own (sb_start: setsid), the worker lowers its
  # session's scheduling group too; thread nice alone does not reach across
  # autogroups (the agent and coordinator are in other sessions).
  if [[ $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null) == 1 ]]; then
    ag=$(cat "/proc/$(cat "$work/worker-$w.pid")/autogroup")
    [[ $ag == *" nice 10" ]] || sb_die "worker-$w session group is '$ag', expected nice 10 (worker.nice)"
  fi
done

sb dest add nas --kind local --set "root=$work/dest-local"
sb dest add bucket --kind s3 --set "endpoint=http://127.0.0.1:$s3_port" --set bucket=photos \
  --set region=us-east-1 --secret access_key_id=S3RVER --secret "secret_access_key=$s3_secret"

# --- agents -------------------------------------------------------------------------
for d in a b; do
  cat >"$work/agent-$d.toml" <<TOML
[coordinator]
address = "$caddr"
[agent]
device_name = "device-$d"
state_dir = "$work/agent-$d"
settle_seconds = 0
[[folder]]
path = "$work/src-$d"
all_files = true
TOML
  tok=$(sb enroll-token --device "device-$d" --ttl 1h 2>/dev/null)
  tokens+=("$tok")
  # Through stdin (--token -), as the quickstart does: never on a command line.
  printf '%s\n' "$tok" | "$bin/agent/shoebox-agent" --config "$work/agent-$d.toml" enroll --token - >>"$work/enroll.log" 2>&1 \
    || sb_die "device-$d could not enroll"
done
# Device A first, bound before it reports; device B bound afterwards (backfill).
"$bin/agent/shoebox-agent" --config "$work/agent-a.toml" run --once --no-progress >"$work/agent-a.log" 2>&1 &
apid=$!
for i in $(seq 1 100); do sb devices 2>/dev/null | grep -q "^device-a " && break; sleep 0.2; done
sb bind --device device-a --dest nas
sb bind --device device-a --dest bucket
wait $apid || sb_die "agent A failed"
"$bin/agent/shoebox-agent" --config "$work/agent-b.toml" run --once --no-progress >"$work/agent-b.log" 2>&1 \
  || sb_die "agent B failed"
sb bind --device device-b --dest nas
sb bind --device device-b --dest bucket

# --- wait for every delivery -----------------------------------------------------------
want=$(( (files_a + files_b) * 2 ))
e2e_wait_delivered "$want"
sb_log "all $want deliveries done"

# `status --watch`: one process, a JSON object per line, each the same answer.
timeout 20 "$bin/cli/shoebox" status --json --watch 0.2 | head -n 3 >"$work/watch.jsonl" || true
python3 - "$work/watch.jsonl" "$want" <<'PY' || sb_die "shoebox status --json --watch did not print 3 status lines"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 3, lines
for l in lines:
    s = json.loads(l)
    assert sum(d["delivered_files"] for d in s["destinations"]) == int(sys.argv[2]), l
PY
# Without --json: the table again under a "--- time" line per refresh.
timeout 20 "$bin/cli/shoebox" status --watch 0.2 | grep -m 2 -- '^--- ' >"$work/watch.txt" || true
[[ $(wc -l <"$work/watch.txt") == 2 ]] || sb_die "shoebox status --watch printed no second refresh"

# --- byte-for-byte at both destinations ---------------------------------------------------
e2e_check_tree "$work/src-a" "$work/dest-local/device-a/src-a" || sb_die "local destination differs for device A"
e2e_check_tree "$work/src-b" "$work/dest-local/device-b/src-b" || sb_die "local destination differs for device B"
mkdir -p "$work/s3-readback"
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 \
  aws --endpoint-url "http://127.0.0.1:$s3_port" s3 cp --recursive --only-show-errors s3://photos "$work/s3-readback" \
  || sb_die "aws s3 cp could not read the bucket back"
e2e_check_tree "$work/src-a" "$work/s3-readback/device-a/src-a" || sb_die "S3 destination differs for device A"
e2e_check_tree "$work/src-b" "$work/s3-readback/device-b/src-b" || sb_die "S3 destination differs for device B"
sb_log "both destinations identical to the sources (local + s3rver read back with aws s3)"

# --- the overlap is stored once -----------------------------------------------------------------
read -r chunk_bytes dups < <(python3 -c '
import json,sys; s=json.load(open(sys.argv[1])); print(s["chunk_bytes"], s["duplicate_files"])' "$work/status.json")
sb_log "chunk store holds $chunk_bytes plaintext bytes for $unique_bytes distinct bytes; duplicate files: $dups"
[[ $chunk_bytes == "$unique_bytes" ]] || sb_die "chunk store holds $chunk_bytes bytes, expected exactly the distinct $unique_bytes"
[[ $dups -ge 7 ]] || sb_die "expected the shared third (and the copied photo) to count as duplicates, got $dups"

# --- restore device A into an empty directory --------------------------------------------------
sb restore --device device-a --to "$work/restore-a"
diff -r "$work/src-a" "$work/restore-a" || sb_die "restore of device A differs from its source"
sb_log "restore of device A matches its source"
# --- no secret in any log ------------------------------------------------------------------------
secrets=("$s3_secret" "$(cat "$work/master.key")" "$(cut -d' ' -f2 "$work/pool.key")")
for t in "${tokens[@]}"; do secrets+=("$t" "$(echo "$t" | cut -d- -f2)"); done
for k in "$work"/tls/*.key "$work"/worker-*-tls/client.key "$work"/agent-*/tls/client.key; do
  secrets+=("$(sed -n 2p "$k")")  # a line of each private key's body
done
[[ ${#secrets[@]} -ge 12 ]] || sb_die "expected at least 12 secrets to look for, got ${#secrets[@]}"
logs=("$work"/*.log)
for sec in "${secrets[@]}"; do
  [[ ${#sec} -ge 16 ]] || sb_die "a secret to look for is too short (${#sec} chars)"
  if grep -rqF -- "$sec" "${logs[@]}"; then sb_die "a secret (${sec:0:6}...) appears in the logs"; fi
done
if grep -lq "PRIVATE KEY" "${logs[@]}"; then sb_die "a private key appears in the logs"; fi
sb_log "no token, key or credential in ${#logs[@]} log files (${#secrets[@]} secrets checked)"
echo "e2e: PASS"
