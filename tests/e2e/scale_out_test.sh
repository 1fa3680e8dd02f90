#!/usr/bin/env bash
# End-to-end (issue 23): outgrowing one machine. Two coordinators on one
# PostgreSQL sharing a CA, a master key and an S3 chunk store (moto); two
# workers, each in a network namespace of its own (their 127.0.0.1 is not
# the servers' host), reading chunks from that S3 store directly; two agents
# in a third namespace. Workers and agents are given both coordinators
# (gRPC's "ipv4:A:P1,A:P2" target, first reachable wins). Coordinator 1 is
# killed with SIGKILL while device A is sending; everything goes on through
# coordinator 2. The assertions of e2e_test.sh then hold: every file at both
# destinations byte for byte, the overlap of the two devices stored once,
# a restore equal to its source.
# Needs root (network namespaces); without it the test is skipped (77).
#   tests/e2e/scale_out_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:?usage: scale_out_test.sh BUILD_DIR}"
SB_NAME=e2e-scale-out
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/e2e_checks.sh"

if [[ $(id -u) != 0 ]] || ! ip netns list >/dev/null 2>&1; then
  sb_log "SKIP: network namespaces need root (ip netns)"; exit 77
fi

work="$(mktemp -d /tmp/shoebox-e2e-scale.XXXXXX)"
chmod 755 "$work"
tag=$$
net=$((10 + tag % 200))  # 10.199.<net+i>.0/24: one link per namespace
namespaces=("sbA$tag" "sbW1$tag" "sbW2$tag")
cleanup() {
  local rc=$? p n l
  for p in agent-a agent-b worker-1 worker-2 coordinator-1 coordinator-2 moto; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  for l in 0 1 2; do ip link del "sbv$tag$l" 2>/dev/null || true; done
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.log; do [[ $l == *initdb* ]] && continue; echo "===== $l (tail)"; tail -n 30 "$l"; done
  fi
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# --- three namespaces, each linked to this host by a veth pair -----------------------
for i in 0 1 2; do
  ns=${namespaces[$i]} sub="10.199.$((net + i))"
  ip netns add "$ns"
  ip link add "sbv$tag$i" type veth peer name "sbp$tag$i"
  ip link set "sbp$tag$i" netns "$ns"
  ip addr add "$sub.1/24" dev "sbv$tag$i"
  ip link set "sbv$tag$i" up
  ip netns exec "$ns" ip addr add "$sub.2/24" dev "sbp$tag$i"
  ip netns exec "$ns" ip link set "sbp$tag$i" up
  ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" ip route add default via "$sub.1"
done
host="10.199.$net.1"  # this host's address as every namespace reaches it
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# --- media: the same as e2e_test.sh, plus a long video so the kill lands mid-send ------
mkdir -p "$work/src-a/2023/summer" "$work/src-b/phone/DCIM" "$work/shared"
gen_set() {  # gen_set DIR PREFIX FROM TO
  local dir=$1 p=$2 i
  for ((i = $3; i < $4; i++)); do
    sb_gen_jpeg "$dir/${p}IMG_$i.jpg" "$i" "2023:0$((i % 9 + 1)):1$((i % 9)) 12:34:56"
  done
  sb_gen_mp4 "$dir/${p}clip_$3.mp4" "$3" 2
  sb_gen_random "$dir/${p}bulk_$3.mov" $((3 * 1024 * 1024 + $3))
}
gen_set "$work/src-a/2023/summer" "" 0 6
gen_set "$work/src-b/phone/DCIM" "" 100 106
gen_set "$work/shared" "shared-" 200 206
cp -a "$work/shared/." "$work/src-a/2023/"
mkdir -p "$work/src-b/phone/from-laptop"
cp -a "$work/shared/." "$work/src-b/phone/from-laptop/"
sb_gen_random "$work/src-a/2023/summer/long take.mov" $((250 * 1024 * 1024))
files_a=$(find "$work/src-a" -type f | wc -l)
files_b=$(find "$work/src-b" -type f | wc -l)
unique_bytes=$(find "$work/src-a/2023/summer" "$work/src-b/phone/DCIM" "$work/shared" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')

# --- PostgreSQL, moto (the S3 chunk store and an S3 destination), two coordinators --------
pg_port=$(sb_free_port); moto_port=$(sb_free_port); c1=$(sb_free_port); c2=$(sb_free_port)
sb_pg_start "$work/pg" "$pg_port"
sb_start moto "$work/moto.log" "$work/moto.pid" moto_server -H 0.0.0.0 -p "$moto_port"
sb_wait_port 127.0.0.1 "$moto_port" 60 || sb_die "moto did not start"
export AWS_ACCESS_KEY_ID=scaleout AWS_SECRET_ACCESS_KEY=scaleout-secret AWS_DEFAULT_REGION=us-east-1
export SHOEBOX_S3_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID SHOEBOX_S3_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
for b in chunks photos; do
  aws --endpoint-url "http://127.0.0.1:$moto_port" s3 mb "s3://$b" >/dev/null || sb_die "cannot make bucket $b"
done
coordinator_toml() {  # coordinator_toml N PORT [EXTRA TLS LINES]
  cat >"$work/coordinator-$1.toml" <<TOML
[coordinator]
listen = "0.0.0.0:$2"
key_file = "$work/master.key"
[database]
url = "postgresql://shoebox@127.0.0.1:$pg_port/shoebox"
[chunk_store]
location = "s3://127.0.0.1:$moto_port/chunks?tls=0"
[limits]
lease_ms = 10000
[tls]
dir = "$work/tls-$1"
names = ["$host"]
${3:-}
TOML
}
coordinator_toml 1 "$c1"
sb_start coordinator-1 "$work/coordinator-1.log" "$work/coordinator-1.pid" \
  "$bin/coordinator/shoebox-coordinator" --config "$work/coordinator-1.toml"
sb_wait_port 127.0.0.1 "$c1" 60 || sb_die "coordinator 1 did not start"
# The second replica shares the first one's CA (docs/coordinator.md, tls.ca_*).
coordinator_toml 2 "$c2" "ca_cert_file = \"$work/tls-1/ca.crt\"
ca_key_file = \"$work/tls-1/ca.key\""
sb_start coordinator-2 "$work/coordinator-2.log" "$work/coordinator-2.pid" \
  "$bin/coordinator/shoebox-coordinator" --config "$work/coordinator-2.toml"
sb_wait_port 127.0.0.1 "$c2" 60 || sb_die "coordinator 2 did not start"
in_ns "${namespaces[1]}" timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$c1" 2>/dev/null \
  && sb_die "a namespace reaches this host's loopback; the test would prove nothing"
both() { echo "ipv4:$1:$c1,$1:$c2"; }
cat >"$work/cli.toml" <<TOML
coordinator = "$(both 127.0.0.1)"
tls_dir = "$work/tls-1"
pool_public_key = "$work/pool.pub"
TOML
export SHOEBOX_CLI_CONFIG="$work/cli.toml"
sb() { "$bin/cli/shoebox" "$@"; }
"$bin/cli/shoebox" pool-key --private "$work/pool.key" --public "$work/pool.pub" >/dev/null

# --- workers, one namespace each; worker 2 prefers coordinator 2 ------------------------
for w in 1 2; do
  ns=${namespaces[$w]}
  tok=$(sb enroll-token --worker "worker-$w" 2>/dev/null)
  in_ns "$ns" "$bin/workers/shoebox-worker" enroll --coordinator "$host:$c1" --token "$tok" \
    --tls-dir "$work/worker-$w-tls" >>"$work/enroll.log" 2>&1 || sb_die "worker-$w could not enroll"
  target=$(both "$host"); [[ $w == 2 ]] && target="ipv4:$host:$c2,$host:$c1"
  cat >"$work/worker-$w.toml" <<TOML
[worker]
name = "worker-$w"
coordinator = "$target"
tls_dir = "$work/worker-$w-tls"
kinds = ["local", "s3"]
concurrency = 2
chunk_store = "s3://$host:$moto_port/chunks?tls=0"
master_key_file = "$work/master.key"
pool_key_file = "$work/pool.key"
TOML
  sb_start "worker-$w" "$work/worker-$w.log" "$work/worker-$w.pid" \
    ip netns exec "$ns" "$bin/workers/shoebox-worker" --config "$work/worker-$w.toml"
done
mkdir -p "$work/dest-local"
sb dest add nas --kind local --set "root=$work/dest-local" >/dev/null
sb dest add bucket --kind s3 --set "endpoint=http://$host:$moto_port" --set bucket=photos \
  --set region=us-east-1 --secret "access_key_id=$AWS_ACCESS_KEY_ID" \
  --secret secret_access_key=- <<<"$AWS_SECRET_ACCESS_KEY" >/dev/null

# --- agents in the third namespace ----------------------------------------------------------
for d in a b; do
  cat >"$work/agent-$d.toml" <<TOML
[coordinator]
address = "$(both "$host")"
[agent]
device_name = "device-$d"
state_dir = "$work/agent-$d"
settle_seconds = 0
[[folder]]
path = "$work/src-$d"
all_files = true
TOML
  tok=$(sb enroll-token --device "device-$d" --ttl 1h 2>/dev/null)
  printf '%s\n' "$tok" | in_ns "${namespaces[0]}" "$bin/agent/shoebox-agent" --config "$work/agent-$d.toml" \
    enroll --coordinator "$host:$c1" --token - >>"$work/enroll.log" 2>&1 || sb_die "device-$d could not enroll"
done
agent_once() { in_ns "${namespaces[0]}" "$bin/agent/shoebox-agent" --config "$work/agent-$1.toml" run --once --no-progress; }

# Device A sends through coordinator 1 (the first of its two) until that one
# is killed in the middle of the long video.
agent_once a >"$work/agent-a.log" 2>&1 &
apid=$!
for i in $(seq 1 100); do sb devices 2>/dev/null | grep -q "^device-a " && break; sleep 0.2; done
sb bind --device device-a --dest nas >/dev/null
sb bind --device device-a --dest bucket >/dev/null
# moto logs each chunk PUT as it is stored: a cheap count, read every 20 ms
# (the whole upload takes a few seconds once it starts).
sent=0
for i in $(seq 1 3000); do
  sent=$(grep -c '"PUT /chunks/' "$work/moto.log" || true)
  [[ $sent -ge 5 ]] && break
  sleep 0.02
done
[[ $sent -ge 5 ]] || sb_die "device A sent no chunks in 60 s"
kill -9 "$(cat "$work/coordinator-1.pid")"
rm -f "$work/coordinator-1.pid"
sb_log "coordinator 1 killed (SIGKILL) after $sent chunks were stored"
wait $apid || sb_die "agent A failed when its coordinator was killed"
after=$(grep -c '"PUT /chunks/' "$work/moto.log" || true)
[[ $after -gt $sent ]] || sb_die "no chunk of device A was stored after the kill ($sent before, $after after): the kill did not land mid-send"
sb_log "device A finished through coordinator 2: $((after - sent)) more chunks stored after the kill"
agent_once b >"$work/agent-b.log" 2>&1 || sb_die "agent B failed"
sb bind --device device-b --dest nas >/dev/null
sb bind --device device-b --dest bucket >/dev/null

want=$(( (files_a + files_b) * 2 ))
e2e_wait_delivered "$want"
sb_log "all $want deliveries done through coordinator 2"

# --- the e2e assertions --------------------------------------------------------------------------
e2e_check_tree "$work/src-a" "$work/dest-local/device-a/src-a" || sb_die "local destination differs for device A"
e2e_check_tree "$work/src-b" "$work/dest-local/device-b/src-b" || sb_die "local destination differs for device B"
aws --endpoint-url "http://127.0.0.1:$moto_port" s3 cp --recursive --only-show-errors s3://photos "$work/s3-readback" \
  || sb_die "aws s3 cp could not read the bucket back"
e2e_check_tree "$work/src-a" "$work/s3-readback/device-a/src-a" || sb_die "S3 destination differs for device A"
e2e_check_tree "$work/src-b" "$work/s3-readback/device-b/src-b" || sb_die "S3 destination differs for device B"
chunk_bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["chunk_bytes"])' "$work/status.json")
[[ $chunk_bytes == "$unique_bytes" ]] \
  || sb_die "chunk store holds $chunk_bytes bytes, expected exactly the distinct $unique_bytes"
sb restore --device device-a --to "$work/restore-a" >/dev/null
diff -r "$work/src-a" "$work/restore-a" || sb_die "restore of device A differs from its source"
sb_log "PASS: two coordinators, workers and agents in three namespaces, coordinator 1 killed mid-send"
