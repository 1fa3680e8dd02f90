#!/usr/bin/env bash
# End-to-end (issue 20) for Google Photos: `shoebox dest add --kind gphotos` +
# `shoebox dest connect` (OAuth 2.0 with PKCE; curl plays the browser on the
# printed URL, the local Library API of tests/fakes/gphotos_server.py approves
# its test user) + `bind` deliver a device with nested folders; the server's own
# listing then shows every photo exactly once, in the album its folder maps to
# (the default album rule: Camera/2023 is album "Camera 2023"), byte-identical when read
# back through the server. Access tokens expire during the run (61 s) and the
# server adds 20 ms to every request. A second agent run delivers nothing new.
# The stack is drive_stack.sh's, set up here because a photo library has no
# `folder` setting.
#   tests/e2e/gphotos_connect_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:?usage: gphotos_connect_test.sh BUILD_DIR}"
SB_NAME=e2e-gphotos
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/drive_stack.sh"
drive_stack_kind gphotos

work="$(mktemp -d /tmp/shoebox-e2e-gphotos.XXXXXX)"
chmod 755 "$work"
cleanup() {
  local rc=$?
  for p in worker coordinator service; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.log "$work"/connect.out; do
      [[ $l == *initdb* || ! -f $l ]] && continue
      echo "===== $l (tail)"; tail -n 30 "$l"
    done
  fi
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# --- media: nested folders -------------------------------------------------------
mkdir -p "$work/src/Camera/2023" "$work/src/Camera/2024/Summer" "$work/src/Trips/Rome"
for i in 1 2 3; do sb_gen_jpeg "$work/src/Camera/2023/IMG_$i.jpg" "$i" "2023:0$i:01 10:00:00"; done
sb_gen_jpeg "$work/src/Camera/2024/Summer/IMG_7.jpg" 7 "2024:07:01 10:00:00"
sb_gen_jpeg "$work/src/Camera/2024/IMG_8.jpg" 8 "2024:01:08 10:00:00"
sb_gen_jpeg "$work/src/Trips/Rome/Colosseo.jpg" 9 "2022:05:09 10:00:00"
sb_gen_jpeg "$work/src/Trips/Rome/Fontana di Trevi.jpg" 10 "2022:05:10 10:00:00"
files=$(find "$work/src" -type f | wc -l)

# --- servers -------------------------------------------------------------------------
pg_port=$(sb_free_port); c_port=$(sb_free_port); svc_port=$(sb_free_port)
svc="http://127.0.0.1:$svc_port"
mkdir -p "$work/service-data" "$work/chunks"
sb_start service "$work/service.log" "$work/service.pid" \
  python3 "$here/tests/fakes/$fake" --port "$svc_port" --data "$work/service-data" --token-ttl 61 \
  --latency-ms 20 "${fake_args[@]}"
sb_wait_port 127.0.0.1 "$svc_port" 30 || sb_die "the gphotos server did not start"
sb_pg_start "$work/pg" "$pg_port"
caddr="127.0.0.1:$c_port"
cat >"$work/coordinator.toml" <<TOML
[coordinator]
listen = "$caddr"
key_file = "$work/master.key"
[database]
url = "postgresql://shoebox@127.0.0.1:$pg_port/shoebox"
[chunk_store]
location = "$work/chunks"
[limits]
lease_ms = 10000
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
tok=$(sb enroll-token --worker worker-1 2>/dev/null)
"$bin/workers/shoebox-worker" enroll --coordinator "$caddr" --token "$tok" \
  --tls-dir "$work/worker-tls" >>"$work/enroll.log" 2>&1 || sb_die "the worker could not enroll"
cat >"$work/worker.toml" <<TOML
[worker]
name = "worker-1"
coordinator = "$caddr"
tls_dir = "$work/worker-tls"
kinds = ["gphotos"]
concurrency = 3
chunk_store = "$work/chunks"
master_key_file = "$work/master.key"
pool_key_file = "$work/pool.key"
TOML
sb_start worker "$work/worker.log" "$work/worker.pid" \
  "$bin/workers/shoebox-worker" --config "$work/worker.toml"

# --- add and connect -------------------------------------------------------------------
sb dest add box --kind gphotos --set client_id=e2e-app --set "endpoint=$svc" \
  --set "auth_endpoint=$svc" --layout '{album}/{path}' | tee "$work/add.out"
grep -q "shoebox dest connect box" "$work/add.out" || sb_die "dest add did not point to dest connect"
printf 'e2e-app-secret\n' >"$work/app-secret.txt"
sb dest connect box --client-secret-file "$work/app-secret.txt" --no-browser --timeout 60 \
  >"$work/connect.out" 2>&1 &
cpid=$!
url=""
for i in $(seq 1 100); do
  url=$(grep -m1 -o "^$svc$authorize_path?[^ ]*" "$work/connect.out" || true)
  [[ -n $url ]] && break
  sleep 0.1
done
[[ -n $url ]] || { cat "$work/connect.out"; sb_die "dest connect printed no sign-in URL"; }
grep -q "photoslibrary.readonly.appcreateddata" <<<"$(python3 -c 'import sys,urllib.parse; print(urllib.parse.unquote(sys.argv[1]))' "$url")" \
  || sb_die "the sign-in URL does not ask for the 2025 Photos scopes: $url"
curl -sS -L -o "$work/browser.html" "$url" || sb_die "the browser could not complete the sign-in"
grep -q "Shoebox is connected" "$work/browser.html" || sb_die "the loopback page did not confirm"
wait $cpid || { cat "$work/connect.out"; sb_die "dest connect failed"; }
grep -q "connection checked" "$work/connect.out" || sb_die "dest connect ran no connection check"
sb_log "connected: $(tail -n 1 "$work/connect.out")"

# --- a device backs up to it ---------------------------------------------------------------
cat >"$work/agent.toml" <<TOML
[coordinator]
address = "$caddr"
[agent]
device_name = "phone"
state_dir = "$work/agent"
settle_seconds = 0
[[folder]]
path = "$work/src"
all_files = true
TOML
tok=$(sb enroll-token --device phone --ttl 1h 2>/dev/null)
printf '%s\n' "$tok" | "$bin/agent/shoebox-agent" --config "$work/agent.toml" enroll --token - \
  >>"$work/enroll.log" 2>&1 || sb_die "the device could not enroll"
"$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress >"$work/agent.log" 2>&1 \
  || sb_die "the agent failed"
sb bind --device phone --dest box
wait_delivered "$files"
sb_log "all $files deliveries done"

# --- the server's own listing: once each, in its folder's album, same bytes -----------------
check_library() {
  python3 - "$svc" "$work/src" <<'PY'
import collections, hashlib, json, os, sys, urllib.request
base, src = sys.argv[1], sys.argv[2]
lib = json.load(urllib.request.urlopen(base + "/_control/library?user=default"))
items = {it["id"]: it for it in lib["items"]}
want = {}  # (album, file name) -> sha256
for root, _, names in os.walk(src):
    for n in names:
        p = os.path.join(root, n)
        # The album rule "folder" (the default): Camera/2024/Summer -> "Camera 2024 Summer".
        album = os.path.relpath(root, src).replace("/", " ")
        want[(album, n)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
assert len(items) == len(want), "library holds %d items for %d files" % (len(items), len(want))
got = collections.Counter()
for a in lib["albums"]:
    for i in a["items"]:
        got[(a["title"], items[i]["filename"])] += 1
        key = (a["title"], items[i]["filename"])
        assert key in want, "unexpected %r" % (key,)
        data = urllib.request.urlopen(base + "/_control/blob/" + i).read()
        assert hashlib.sha256(data).hexdigest() == want[key], "content differs: %r" % (key,)
        # and through the API's own download URL (baseUrl + "=d")
        assert urllib.request.urlopen(base + "/lh3/" + i + "=d").read() == data
assert sorted(got) == sorted(want), (sorted(got), sorted(want))
assert all(n == 1 for n in got.values()), "in an album twice: %r" % got
print("%d photos, each once, in %d albums" % (len(want), len(lib["albums"])))
PY
}
check_library || sb_die "the library at the server is not what the device holds"

# --- a second run delivers nothing new -----------------------------------------------------------
before=$(curl -sS "$svc/_control/stats")
"$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress >>"$work/agent.log" 2>&1 \
  || sb_die "the agent failed"
wait_delivered "$files"
after=$(curl -sS "$svc/_control/stats")
python3 - "$before" "$after" <<'PY' || sb_die "a second run uploaded again"
import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["batch_create_items"] == b["batch_create_items"], (b, a)
assert a["concurrent_batch_create"] == 0, a
PY
check_library || sb_die "the library changed on a second run"
refreshes=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("refreshes", 0))' "$after")
sb_log "server stats: $after"
if grep -rqF -- "e2e-app-secret" "$work"/*.log "$work/connect.out"; then
  sb_die "the client secret appears in a log"
fi
echo "e2e gphotos: PASS (access token refreshed $refreshes times)"
