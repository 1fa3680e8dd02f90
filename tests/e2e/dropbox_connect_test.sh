#!/usr/bin/env bash
# End-to-end (issue 19): `shoebox dest add --kind dropbox` + `shoebox dest
# connect` (the test plays the browser with curl on the printed URL; the
# local Dropbox of tests/fakes/dropbox_server.py approves its test user) +
# `bind` deliver a device's photos, a large video in an upload session
# among them, to the fake; every file is downloaded back through the fake's
# own API and compared byte for byte. Access tokens expire during the run
# (refreshes are counted), and the client secret appears in no log.
#   tests/e2e/dropbox_connect_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:?usage: dropbox_connect_test.sh BUILD_DIR}"
SB_NAME=e2e-dropbox
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"

work="$(mktemp -d /tmp/shoebox-e2e-dropbox.XXXXXX)"
chmod 755 "$work"
cleanup() {
  local rc=$?
  for p in worker coordinator dropbox; do sb_stop "$work/$p.pid" 20; done
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

# --- media ---------------------------------------------------------------------
mkdir -p "$work/src/2024/trip" "$work/src/videos"
for i in 1 2 3 4; do sb_gen_jpeg "$work/src/2024/trip/IMG_$i.jpg" "$i" "2024:05:0$i 10:00:00"; done
sb_gen_mp4 "$work/src/videos/clip.mp4" 3 2
sb_gen_random "$work/src/videos/long take.mov" $((40 * 1024 * 1024 + 123))  # an upload session
cp "$work/src/2024/trip/IMG_1.jpg" "$work/src/2024/Été: \"copy\" <1>?.jpg"   # names Dropbox refuses
files=$(find "$work/src" -type f | wc -l)

# --- servers -------------------------------------------------------------------
pg_port=$(sb_free_port); c_port=$(sb_free_port); dbx_port=$(sb_free_port)
dbx="http://127.0.0.1:$dbx_port"
mkdir -p "$work/dropbox-data" "$work/chunks"
# Access tokens live 61 s: the worker renews them a minute early, so nearly
# every request of the run needs a refresh.
sb_start dropbox "$work/dropbox.log" "$work/dropbox.pid" \
  python3 "$here/tests/fakes/dropbox_server.py" --port "$dbx_port" --data "$work/dropbox-data" \
  --client-id e2e-app --client-secret e2e-app-secret --token-ttl 61
sb_wait_port 127.0.0.1 "$dbx_port" 30 || sb_die "the Dropbox fake did not start"
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
kinds = ["dropbox"]
concurrency = 2
chunk_store = "$work/chunks"
master_key_file = "$work/master.key"
pool_key_file = "$work/pool.key"
TOML
sb_start worker "$work/worker.log" "$work/worker.pid" \
  "$bin/workers/shoebox-worker" --config "$work/worker.toml"

# --- add and connect -------------------------------------------------------------
sb dest add box --kind dropbox --set client_id=e2e-app --set "endpoint=$dbx" \
  --set "auth_endpoint=$dbx" --set folder=Shoebox | tee "$work/add.out"
grep -q "shoebox dest connect box" "$work/add.out" || sb_die "dest add did not point to dest connect"
printf 'e2e-app-secret\n' >"$work/app-secret.txt"
sb dest connect box --client-secret-file "$work/app-secret.txt" --no-browser --timeout 60 \
  >"$work/connect.out" 2>&1 &
cpid=$!
url=""
for i in $(seq 1 100); do
  url=$(grep -m1 -o "^$dbx/oauth2/authorize?[^ ]*" "$work/connect.out" || true)
  [[ -n $url ]] && break
  sleep 0.1
done
[[ -n $url ]] || sb_die "dest connect printed no sign-in URL"
# The browser: follow the fake's redirect to the CLI's loopback listener.
curl -sS -L -o "$work/browser.html" "$url" || sb_die "the browser could not complete the sign-in"
grep -q "Shoebox is connected" "$work/browser.html" || sb_die "the loopback page did not confirm"
wait $cpid || { cat "$work/connect.out"; sb_die "dest connect failed"; }
grep -q "connection checked" "$work/connect.out" || sb_die "dest connect ran no connection check"
sb_log "connected: $(tail -n 1 "$work/connect.out")"

# --- a device backs up to it --------------------------------------------------------
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

for i in $(seq 1 600); do
  sb status --json >"$work/status.json"
  read -r delivered open dead < <(python3 -c '
import json,sys; s=json.load(open(sys.argv[1])); d=s["destinations"]
print(sum(x["delivered_files"] for x in d), sum(x["pending_files"]+x["in_flight_files"]+x["failed_files"] for x in d), sum(x["dead_files"] for x in d))' "$work/status.json")
  [[ $dead == 0 ]] || { sb jobs --state dead; sb_die "$dead deliveries are dead"; }
  [[ $delivered -ge $files && $open == 0 ]] && break
  sleep 0.5
done
[[ $delivered == "$files" ]] || { cat "$work/status.json"; sb_die "delivered $delivered of $files"; }
sb_log "all $files deliveries done"

# --- read everything back through the fake's own API ----------------------------------------
python3 - "$dbx" "$work/src" <<'PY' || sb_die "the files at the Dropbox fake differ from the sources"
import base64, hashlib, json, os, secrets, sys, urllib.parse, urllib.request

base, src = sys.argv[1], sys.argv[2]
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a):
        return None
opener = urllib.request.build_opener(NoRedirect)
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
q = urllib.parse.urlencode({"client_id": "e2e-app", "response_type": "code", "state": "s",
                            "redirect_uri": "http://127.0.0.1:9/", "code_challenge": challenge,
                            "code_challenge_method": "S256", "token_access_type": "offline"})
try:
    opener.open(base + "/oauth2/authorize?" + q)
    raise SystemExit("authorize did not redirect")
except urllib.error.HTTPError as e:
    loc = e.headers["Location"]
code = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["code"][0]
form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                               "redirect_uri": "http://127.0.0.1:9/", "code_verifier": verifier,
                               "client_id": "e2e-app", "client_secret": "e2e-app-secret"}).encode()
tok = json.load(urllib.request.urlopen(urllib.request.Request(
    base + "/oauth2/token", data=form,
    headers={"Content-Type": "application/x-www-form-urlencoded"})))["access_token"]

def rpc(ep, arg):
    r = urllib.request.Request(base + ep, data=json.dumps(arg).encode(), headers={
        "Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(r))

entries, page = [], rpc("/2/files/list_folder", {"path": "/Shoebox", "recursive": True})
while True:
    entries += [e for e in page["entries"] if e[".tag"] == "file"]
    if not page["has_more"]:
        break
    page = rpc("/2/files/list_folder/continue", {"cursor": page["cursor"]})
remote = {}
for e in entries:
    r = urllib.request.Request(base + "/2/files/download", data=b"", headers={
        "Authorization": "Bearer " + tok,
        "Dropbox-API-Arg": json.dumps({"path": e["path_display"]}, ensure_ascii=True)})
    remote[e["path_display"]] = urllib.request.urlopen(r).read()

def decode(p):  # workers/connectors/service_names.h: %XX back to bytes
    out, i, b = bytearray(), 0, p.encode()
    while i < len(b):
        if b[i:i+1] == b"%" and i + 2 < len(b) and all(c in b"0123456789ABCDEF" for c in b[i+1:i+3]):
            out.append(int(b[i+1:i+3], 16)); i += 3
        else:
            out.append(b[i]); i += 1
    return out.decode("utf-8", "surrogateescape")

prefix = "/Shoebox/phone/" + os.path.basename(src) + "/"
got = {decode(k[len(prefix):]): v for k, v in remote.items() if k.startswith(prefix)}
want = {}
for root, _, names in os.walk(src):
    for n in names:
        p = os.path.join(root, n)
        want[os.path.relpath(p, src)] = open(p, "rb").read()
assert len(remote) == len(want), (sorted(remote), sorted(want))
assert sorted(got) == sorted(want), (sorted(got), sorted(want))
for k in want:
    assert got[k] == want[k], "content differs: " + k
print("%d files identical at the Dropbox fake" % len(want))
PY
stats=$(curl -sS "$dbx/_control/stats")
refreshes=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["refreshes"])' "$stats")
[[ $refreshes -ge 2 ]] || sb_die "expected the worker to refresh expired access tokens, saw $refreshes refreshes"
sb_log "the worker refreshed its access token $refreshes times"

# --- the client secret is in no log -----------------------------------------------------------
if grep -rqF -- "e2e-app-secret" "$work"/*.log "$work/connect.out"; then
  sb_die "the client secret appears in a log"
fi
echo "e2e dropbox: PASS"
