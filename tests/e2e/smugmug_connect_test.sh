#!/usr/bin/env bash
# End-to-end (issue 20) for SmugMug: `shoebox dest add --kind smugmug` + the
# access tokens + `bind` deliver a device with nested folders to the local
# SmugMug of tests/fakes/smugmug_server.py (20 ms latency per request, every
# OAuth 1.0a signature recomputed). The server's own record then shows every
# photo exactly once, in the gallery its folder maps to (Camera/2023/x.jpg in
# gallery 2023 of folder Camera; a folder with photos and sub-folders is a
# gallery and a folder), byte-identical when downloaded back; a second agent
# run uploads nothing. The API secret and tokens appear in no log.
#
# The tokens come from the server's control endpoint and are set as secrets
# (`--secret-file oauth_token=...`): `shoebox dest connect` for OAuth 1.0a
# lands in another branch; the server already serves its three endpoints.
#   tests/e2e/smugmug_connect_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:?usage: smugmug_connect_test.sh BUILD_DIR}"
kind=smugmug
SB_NAME=e2e-smugmug
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/drive_stack.sh"  # drive_stack_kind, wait_delivered
drive_stack_kind smugmug

work="$(mktemp -d /tmp/shoebox-e2e-smugmug.XXXXXX)"
chmod 755 "$work"
cleanup() {
  local rc=$?
  for p in worker coordinator service; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.log "$work"/add.out; do
      [[ $l == *initdb* || ! -f $l ]] && continue
      echo "===== $l (tail)"; tail -n 30 "$l"
    done
  fi
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# --- media: nested folders ------------------------------------------------------------
mkdir -p "$work/src/Camera/2023/trip" "$work/src/Camera/2024" "$work/src/Phone"
for i in 1 2 3; do sb_gen_jpeg "$work/src/Camera/2023/IMG_$i.jpg" "$i" "2023:05:0$i 10:00:00"; done
sb_gen_jpeg "$work/src/Camera/2023/trip/IMG_4.jpg" 4 "2023:06:01 10:00:00"
sb_gen_jpeg "$work/src/Camera/2024/IMG_5.jpg" 5 "2024:01:01 10:00:00"
sb_gen_jpeg "$work/src/Phone/Été #1.jpg" 6 "2024:02:01 10:00:00"
sb_gen_jpeg "$work/src/top.jpg" 7 "2024:03:01 10:00:00"
files=$(find "$work/src" -type f | wc -l)

# --- servers ---------------------------------------------------------------------------
pg_port=$(sb_free_port); c_port=$(sb_free_port); svc_port=$(sb_free_port)
svc="http://127.0.0.1:$svc_port"
mkdir -p "$work/service-data" "$work/chunks"
sb_start service "$work/service.log" "$work/service.pid" \
  python3 "$here/tests/fakes/$fake" --port "$svc_port" --data "$work/service-data" \
  --latency-ms 20 "${fake_args[@]}"
sb_wait_port 127.0.0.1 "$svc_port" 30 || sb_die "the smugmug server did not start"
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
kinds = ["$kind"]
concurrency = 2
chunk_store = "$work/chunks"
master_key_file = "$work/master.key"
pool_key_file = "$work/pool.key"
TOML
sb_start worker "$work/worker.log" "$work/worker.pid" \
  "$bin/workers/shoebox-worker" --config "$work/worker.toml"

# --- add with the API key and the access tokens ---------------------------------------------
umask 077
printf 'e2e-api-secret' >"$work/api_secret"
curl -sS -X POST -d '{}' "$svc/_control/tokens" >"$work/tokens.json"
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))
open(sys.argv[2],"w").write(t["oauth_token"]); open(sys.argv[3],"w").write(t["oauth_token_secret"])' \
  "$work/tokens.json" "$work/oauth_token" "$work/oauth_token_secret"
rm -f "$work/tokens.json"
umask 022
sb dest add box --kind smugmug --set api_key=e2e-api-key --set "endpoint=$svc" \
  --set "upload_endpoint=$svc" --set "auth_endpoint=$svc" --set folder=Shoebox \
  --secret-file "api_secret=$work/api_secret" --secret-file "oauth_token=$work/oauth_token" \
  --secret-file "oauth_token_secret=$work/oauth_token_secret" >"$work/add.out" 2>&1 \
  || { cat "$work/add.out"; sb_die "dest add failed (its connection check included)"; }
secret_words=("e2e-api-secret" "$(cat "$work/oauth_token_secret")")
rm -f "$work/api_secret" "$work/oauth_token" "$work/oauth_token_secret"
sb_log "added: $(tail -n 1 "$work/add.out")"

# --- a device backs up to it -------------------------------------------------------------
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

# --- the server's own record: each photo once, in its gallery, byte-identical -----------------
check_tree() {
python3 - "$svc" "$work/src" <<'PY' || sb_die "the galleries at the smugmug server are not the device's folders"
import hashlib, json, os, sys, urllib.request
base, src = sys.argv[1], sys.argv[2]
tree = json.load(urllib.request.urlopen(base + "/_control/tree"))
def enc(name):  # workers/connectors/service_names.h for SmugMug: '/', '\\', controls, %XX
    out = ""
    for i, ch in enumerate(name):
        if ch in "/\\" or ord(ch) < 0x20 or ord(ch) == 0x7F or (
                ch == "%" and len(name) > i + 2 and all(c in "0123456789abcdefABCDEF" for c in name[i+1:i+3])):
            out += "%%%02X" % ord(ch)
        else:
            out += ch
    return out
albums = {n["path"]: n for n in tree if n["type"] == "Album"}
folders = {n["path"] for n in tree if n["type"] == "Folder"}
total = sum(len(n["images"]) for n in albums.values())
want = 0
for root, _, names in os.walk(src):
    for n in names:
        want += 1
        rel = os.path.relpath(os.path.join(root, n), src)
        parts = [enc(p) for p in ("phone/" + os.path.basename(src) + "/" + rel).split("/")]
        gallery = "/".join(["Shoebox"] + parts[:-1])
        assert gallery in albums, "no gallery %s for %s (galleries: %s)" % (gallery, rel, sorted(albums))
        for i in range(1, len(parts) - 1):
            assert "/".join(["Shoebox"] + parts[:i]) in folders, "no folder for " + rel
        same = [i for i in albums[gallery]["images"] if i["FileName"] == parts[-1]]
        assert len(same) == 1, "%d images for %s in %s" % (len(same), rel, gallery)
        data = open(os.path.join(root, n), "rb").read()
        assert same[0]["sha256"] == hashlib.sha256(data).hexdigest(), "content differs: " + rel
        back = urllib.request.urlopen(base + "/archive/" + same[0]["ImageKey"]).read()
        assert back == data, "downloaded bytes differ: " + rel
assert total == want, "the server holds %d images for %d files" % (total, want)
# Camera/2023 holds photos and a sub-folder: a gallery and a folder.
assert "Shoebox/phone/src/Camera/2023" in albums and "Shoebox/phone/src/Camera/2023" in folders
print("%d photos once each, in their galleries, identical" % want)
PY
}
check_tree
stats() { curl -sS "$svc/_control/stats"; }
count() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$(stats)" "$1"; }
uploads=$(count uploads)
[[ $(count bad_signatures) == 0 ]] || sb_die "the server refused signatures: $(stats)"

# --- a second run uploads nothing -----------------------------------------------------------
touch "$work/src/Camera/2023/IMG_1.jpg"
"$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress >>"$work/agent.log" 2>&1 \
  || sb_die "the agent failed"
sleep 3
for i in $(seq 1 240); do  # until nothing is open (a new version of IMG_1 may be delivered)
  sb status --json >"$work/status.json"
  open=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["destinations"]
print(sum(x["pending_files"]+x["in_flight_files"]+x["failed_files"]+x["dead_files"] for x in d))' \
    "$work/status.json")
  [[ $open == 0 ]] && break
  sleep 0.5
done
[[ $open == 0 ]] || { cat "$work/status.json"; sb_die "deliveries still open after the second run"; }
check_tree
[[ $(count uploads) == "$uploads" && $(count replacements) == 0 ]] \
  || sb_die "the second run uploaded again: $(stats)"

# --- no secret in a log ---------------------------------------------------------------------
for s in "${secret_words[@]}"; do
  if grep -rqF -- "$s" "$work"/*.log "$work/add.out"; then sb_die "a secret appears in a log"; fi
done
sb_log "server stats: $(stats)"
echo "e2e smugmug: PASS"
