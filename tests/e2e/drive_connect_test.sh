#!/usr/bin/env bash
# End-to-end (issue 19) for Dropbox, OneDrive and Google Drive:
# `shoebox dest add --kind KIND` + `shoebox dest connect` (curl plays the
# browser on the printed URL; the local server of tests/fakes approves its
# test user) + `bind` deliver a device's photos, a large video in an upload
# session among them, to the local server; a worker killed with SIGKILL in
# the middle of a 200 MiB upload resumes it in the same upload session
# (counted by the server); every file is downloaded back through that
# server's own API and compared byte for byte. Access tokens expire during
# the run, so the worker refreshes (and, for OneDrive, stores each rotated
# refresh token through the coordinator: a stale one is refused with
# invalid_grant). The client secret appears in no log.
#   tests/e2e/drive_connect_test.sh dropbox|onedrive|gdrive BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kind="${1:?usage: drive_connect_test.sh dropbox|onedrive|gdrive BUILD_DIR}"
bin="${2:?usage: drive_connect_test.sh dropbox|onedrive|gdrive BUILD_DIR}"
SB_NAME=e2e-$kind
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/drive_stack.sh"
drive_stack_kind "$kind"

drive_stack_work $kind

# --- media ---------------------------------------------------------------------
mkdir -p "$work/src/2024/trip" "$work/src/videos"
for i in 1 2 3 4; do sb_gen_jpeg "$work/src/2024/trip/IMG_$i.jpg" "$i" "2024:05:0$i 10:00:00"; done
sb_gen_mp4 "$work/src/videos/clip.mp4" 3 2
sb_gen_random "$work/src/videos/long take.mov" $((40 * 1024 * 1024 + 123))  # an upload session
cp "$work/src/2024/trip/IMG_1.jpg" "$work/src/2024/Été: \"copy\" <1>?.jpg"   # names services refuse
cp "$work/src/2024/trip/IMG_2.jpg" "$work/src/2024/trailing dot."
files=$(find "$work/src" -type f | wc -l)

drive_stack_up
"$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress >"$work/agent.log" 2>&1 \
  || sb_die "the agent failed"
sb bind --device phone --dest box

wait_delivered "$files"
sb_log "all $files deliveries done"
# `run --once` said its last word: status shows nothing still to upload.
pending=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))
print(sum(d.get("agent_files_pending", 0) for d in s["devices"]))' "$work/status.json")
[[ $pending == 0 ]] || sb_die "shoebox status says the device still has $pending files to upload"

# --- a worker killed in the middle of a 200 MiB upload resumes it -------------------
# The upload goes in 2 MiB pieces with 20 ms per request at the server; the
# worker is killed with SIGKILL once the server holds 40 MiB of it. After the
# restart (and the dead worker's lease running out) the upload continues in
# the same session from the server's offset: the server counts what it
# received for that file, at most one piece more than its size.
# upload_state BIG BEFORE: "HELD RECEIVED" for the BIG-byte upload: the
# largest offset the server holds in one of its sessions, and what the
# server received in all of them (fragments cut off by the kill included).
# Dropbox's sessions do not say their size: those not in BEFORE (ids of the
# sessions before this phase) are the big file's.
upload_state() {
  python3 - "$kind" "$svc" "$1" "$2" <<'PY'
import json, sys, urllib.request
kind, svc, size, before = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
if kind == "dropbox":
    s = json.load(urllib.request.urlopen(svc + "/_control/stats"))["sessions"]
    mine = [v for k, v in s.items() if k not in before]
    held = [v["applied"] for v in mine]
    got = [v["received"] for v in mine]
else:
    s = json.load(urllib.request.urlopen(svc + "/_control/sessions"))
    mine = [v for v in s.values() if v["size"] == size]
    held = [v["bytes_accepted"] for v in mine]
    got = [v["bytes_received"] for v in mine]
print(max(held or [0]), sum(got), len(mine))
PY
}
before=""
if [[ $kind == dropbox ]]; then
  before=$(curl -sS "$svc/_control/stats" | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["sessions"]))')
fi
sb dest set box --set "chunk_size_mib=$piece_mib" >/dev/null
big=$((200 * 1024 * 1024 + 4321))
sb_gen_random "$work/src/videos/big.mov" "$big"
files=$((files + 1))
"$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress >>"$work/agent.log" 2>&1 \
  || sb_die "the agent failed"
held=0
for i in $(seq 1 1200); do
  read -r held _ _ < <(upload_state "$big" "$before")
  [[ $held -ge $((40 * 1024 * 1024)) ]] && break
  sleep 0.05
done
[[ $held -ge $((40 * 1024 * 1024)) && $held -lt $big ]] \
  || sb_die "the 200 MiB upload was not caught in the middle (server holds $held of $big bytes)"
kill -KILL "$(cat "$work/worker.pid")"
rm -f "$work/worker.pid"
sb_log "worker killed with $held of $big bytes at the server"
sb_start worker "$work/worker.log" "$work/worker.pid" \
  "$bin/workers/shoebox-worker" --config "$work/worker.toml"
wait_delivered "$files"
read -r held received sessions < <(upload_state "$big" "$before")
# At most the piece the kill cut off is sent twice, in the same session.
[[ $sessions == 1 && $received -le $((big + piece_mib * 1024 * 1024)) ]] \
  || sb_die "the resumed upload sent again what the server had: $sessions session(s) received $received bytes for $big"
sb_log "200 MiB upload resumed: 1 session, $received bytes received for $big"

# --- read everything back through the server's own API ----------------------------------------
python3 - "$kind" "$svc" "$work/src" <<'PY' || sb_die "the files at the $kind server differ from the sources"
import json, os, sys, urllib.parse, urllib.request

kind, base, src = sys.argv[1], sys.argv[2], sys.argv[3]
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a):
        return None
plain = urllib.request.build_opener(NoRedirect)
if kind == "dropbox":  # no control token: sign in as the CLI does (PKCE)
    import base64, hashlib, secrets
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = urllib.parse.urlencode({"client_id": "e2e-app", "response_type": "code", "state": "s",
                                "redirect_uri": "http://127.0.0.1:9/", "code_challenge": challenge,
                                "code_challenge_method": "S256", "token_access_type": "offline"})
    try:
        plain.open(base + "/oauth2/authorize?" + q)
        raise SystemExit("authorize did not redirect")
    except urllib.error.HTTPError as e:
        loc = e.headers["Location"]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["code"][0]
    form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": "http://127.0.0.1:9/",
                                   "code_verifier": verifier, "client_id": "e2e-app",
                                   "client_secret": "e2e-app-secret"}).encode()
    tok = json.load(urllib.request.urlopen(urllib.request.Request(
        base + "/oauth2/token", data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"})))["access_token"]
else:
    tok = json.load(urllib.request.urlopen(urllib.request.Request(
        base + "/_control/token", data=b"{}", method="POST")))["access_token"]

def get(url, raw=False):
    r = urllib.request.Request(url, headers={"Authorization": "Bearer " + tok})
    with urllib.request.urlopen(r) as f:
        data = f.read()
    return data if raw else json.loads(data)

remote = {}  # path under the folder -> bytes
if kind == "dropbox":
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
    for e in entries:
        r = urllib.request.Request(base + "/2/files/download", data=b"", headers={
            "Authorization": "Bearer " + tok,
            "Dropbox-API-Arg": json.dumps({"path": e["path_display"]}, ensure_ascii=True)})
        remote[e["path_display"].lstrip("/")] = urllib.request.urlopen(r).read()
elif kind == "onedrive":
    def walk(item_id, prefix):
        url = base + "/v1.0/me/drive/items/" + item_id + "/children"
        while url:
            page = get(url)
            for it in page["value"]:
                if "folder" in it:
                    walk(it["id"], prefix + it["name"] + "/")
                else:
                    # /content answers 302 to a pre-authenticated URL.
                    try:
                        plain.open(urllib.request.Request(
                            base + "/v1.0/me/drive/items/" + it["id"] + "/content",
                            headers={"Authorization": "Bearer " + tok}))
                        raise SystemExit("content did not redirect")
                    except urllib.error.HTTPError as e:
                        if e.code != 302:
                            raise
                        loc = e.headers["Location"]
                    remote[prefix + it["name"]] = urllib.request.urlopen(loc).read()
            url = page.get("@odata.nextLink")
    walk(get(base + "/v1.0/me/drive/root:/Shoebox")["id"], "Shoebox/")
else:
    files, token = [], ""
    while True:
        q = {"q": "trashed = false", "pageSize": "100",
             "fields": "nextPageToken,files(id,name,parents,mimeType)"}
        if token:
            q["pageToken"] = token
        page = get(base + "/drive/v3/files?" + urllib.parse.urlencode(q))
        files += page["files"]
        token = page.get("nextPageToken", "")
        if not token:
            break
    by_id = {f["id"]: f for f in files}
    # Drive allows twins (two folders of one name in one parent); Shoebox
    # must not make them, or its files split between the twins.
    seen = {}
    for f in files:
        if f["mimeType"] == "application/vnd.google-apps.folder":
            key = (tuple(f["parents"]), f["name"])
            assert key not in seen, "folder %r created twice in %r" % (f["name"], f["parents"])
            seen[key] = f["id"]
    def path_of(f):
        parts = [f["name"]]
        while f["parents"] and f["parents"][0] in by_id:
            f = by_id[f["parents"][0]]
            parts.insert(0, f["name"])
        return "/".join(parts)
    for f in files:
        if f["mimeType"] != "application/vnd.google-apps.folder":
            remote[path_of(f)] = get(base + "/drive/v3/files/" + f["id"] + "?alt=media", raw=True)

def decode(p):  # workers/connectors/service_names.h: %XX back to bytes
    out, i, b = bytearray(), 0, p.encode()
    while i < len(b):
        if b[i:i+1] == b"%" and i + 2 < len(b) and all(c in b"0123456789ABCDEF" for c in b[i+1:i+3]):
            out.append(int(b[i+1:i+3], 16)); i += 3
        else:
            out.append(b[i]); i += 1
    return out.decode("utf-8", "surrogateescape")

prefix = "Shoebox/phone/" + os.path.basename(src) + "/"
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
print("%d files identical at the %s server" % (len(want), kind))
PY
stats=$(curl -sS "$svc/_control/stats")
refreshes=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("refreshes", 0))' "$stats")
[[ $refreshes -ge 2 ]] || sb_die "expected the worker to refresh expired access tokens, saw $refreshes refreshes ($stats)"
sb_log "the worker refreshed its access token $refreshes times; server stats: $stats"

# --- the client secret is in no log -----------------------------------------------------------
if grep -rqF -- "e2e-app-secret" "$work"/*.log "$work/connect.out"; then
  sb_die "the client secret appears in a log"
fi
echo "e2e $kind: PASS"
