#!/usr/bin/env bash
# End-to-end (issue 20) for Google Photos: `shoebox dest add --kind gphotos` +
# `shoebox dest connect` (OAuth 2.0 with PKCE; curl plays the browser on the
# printed URL, the local Library API of tests/fakes/gphotos_server.py approves
# its test user) + `bind` deliver a device with nested folders; the server's own
# listing then shows every photo exactly once, in the album its folder maps to
# (the default album rule: Camera/2023 is album "Camera 2023"), byte-identical when read
# back through the server. Access tokens expire during the run (61 s) and the
# server adds 20 ms to every request. A second agent run delivers nothing new.
# The stack is drive_stack.sh's (a photo library has no `folder` setting:
# DEST_SETTINGS replaces it).
#   tests/e2e/gphotos_connect_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:?usage: gphotos_connect_test.sh BUILD_DIR}"
SB_NAME=e2e-gphotos
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/drive_stack.sh"
drive_stack_kind gphotos

drive_stack_work gphotos

# --- media: nested folders -------------------------------------------------------
mkdir -p "$work/src/Camera/2023" "$work/src/Camera/2024/Summer" "$work/src/Trips/Rome"
for i in 1 2 3; do sb_gen_jpeg "$work/src/Camera/2023/IMG_$i.jpg" "$i" "2023:0$i:01 10:00:00"; done
sb_gen_jpeg "$work/src/Camera/2024/Summer/IMG_7.jpg" 7 "2024:07:01 10:00:00"
sb_gen_jpeg "$work/src/Camera/2024/IMG_8.jpg" 8 "2024:01:08 10:00:00"
sb_gen_jpeg "$work/src/Trips/Rome/Colosseo.jpg" 9 "2022:05:09 10:00:00"
sb_gen_jpeg "$work/src/Trips/Rome/Fontana di Trevi.jpg" 10 "2022:05:10 10:00:00"
files=$(find "$work/src" -type f | wc -l)

# --- servers, add and connect: tests/e2e/drive_stack.sh ------------------------------------
WORKER_CONCURRENCY=3 drive_stack_servers
DEST_SETTINGS="--layout {album}/{path}" drive_stack_connect_oauth2
grep -q "photoslibrary.readonly.appcreateddata" \
  <<<"$(python3 -c 'import sys,urllib.parse; print(urllib.parse.unquote(sys.argv[1]))' "$authorize_url")" \
  || sb_die "the sign-in URL does not ask for the 2025 Photos scopes: $authorize_url"

# --- a device backs up to it ---------------------------------------------------------------
drive_stack_device
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
