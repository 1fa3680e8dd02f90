#!/usr/bin/env bash
# End-to-end (issue 20) for Flickr: a quickstart-like stack (private
# PostgreSQL, coordinator, one worker) and the local Flickr of
# tests/fakes/flickr_server.py; `shoebox dest add --kind flickr` +
# `shoebox dest connect` (OAuth 1.0a: the printed authorize URL is opened
# with curl, the PIN the page shows is given through --verifier-file) +
# `bind` deliver a device with nested folders (Camera/2023, Camera/2024,
# Trips/Rome). The server's own records then show every photo exactly once,
# private, in the one set its folder maps to, and the bytes downloaded back
# from the server equal the sources. A second agent run uploads nothing.
# The API secret appears in no log.
#   tests/e2e/flickr_connect_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:?usage: flickr_connect_test.sh BUILD_DIR}"
SB_NAME=e2e-flickr
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/drive_stack.sh"

drive_stack_work flickr

# --- media: nested folders, distinct content ----------------------------------------
mkdir -p "$work/src/Camera/2023" "$work/src/Camera/2024" "$work/src/Trips/Rome"
for i in 1 2 3; do sb_gen_jpeg "$work/src/Camera/2023/IMG_23$i.jpg" "$i" "2023:0$i:10 10:00:00"; done
for i in 4 5; do sb_gen_jpeg "$work/src/Camera/2024/IMG_24$i.jpg" "$i" "2024:0$i:10 10:00:00"; done
for i in 6 7; do sb_gen_jpeg "$work/src/Trips/Rome/DSC_$i.jpg" "$i" "2022:0$i:10 10:00:00"; done
sb_gen_mp4 "$work/src/Trips/Rome/fontana.mp4" 8 2
files=$(find "$work/src" -type f | wc -l)

# --- servers: tests/e2e/drive_stack.sh ------------------------------------------------------
drive_stack_kind flickr
drive_stack_servers

# --- add and connect (OAuth 1.0a, out-of-band PIN) ---------------------------------------
# One album per folder: the layout's {album} names the set.
sb dest add box --kind flickr --set api_key=e2e-key --set "endpoint=$svc/services" \
  --set "upload_endpoint=$svc/services" --set "auth_endpoint=$svc/services" \
  --set max_requests_per_s=20 --layout '{album}/{name}' | tee "$work/add.out"
grep -q "shoebox dest connect box" "$work/add.out" || sb_die "dest add did not point to dest connect"
# A wrong API secret: the request token is refused with a clear message.
printf 'not-the-secret\n' >"$work/wrong-secret.txt"
if sb dest connect box --client-secret-file "$work/wrong-secret.txt" --verifier-file /dev/null \
  >"$work/connect-wrong.out" 2>&1; then
  sb_die "dest connect succeeded with a wrong API secret"
fi
grep -q "check the API key and secret" "$work/connect-wrong.out" \
  || { cat "$work/connect-wrong.out"; sb_die "a wrong API secret was not explained"; }
drive_stack_connect_oauth1 "$svc/services/oauth/authorize"
[[ $authorize_url == *perms=write* ]] || sb_die "the authorize URL asks for no write permission"
grep -q "connected as" "$work/connect.out" || sb_die "dest connect did not say who is connected"

# --- a device with nested folders backs up to it ------------------------------------------
drive_stack_device
"$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress >"$work/agent.log" 2>&1 \
  || sb_die "the agent failed"
sb bind --device phone --dest box

wait_delivered "$files"
sb_log "all $files deliveries done"
uploads=$(curl -sS "$svc/_control/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uploads"])')

# --- the server's own records -----------------------------------------------------------
check_server() {
python3 - "$svc" "$work/src" <<'PY'
import hashlib, json, os, sys, urllib.request
svc, src = sys.argv[1], sys.argv[2]
photos = json.load(urllib.request.urlopen(svc + "/_control/photos"))
sets = json.load(urllib.request.urlopen(svc + "/_control/sets"))
want = {}  # sha256 -> folder relative to src
for root, _, names in os.walk(src):
    for n in names:
        p = os.path.join(root, n)
        want[hashlib.sha256(open(p, "rb").read()).hexdigest()] = os.path.relpath(root, src)
assert len(photos) == len(want), "%d photos at the server for %d files" % (len(photos), len(want))
by_sha = {}
for p in photos:
    assert p["sha256"] not in by_sha, "content uploaded twice: %s" % p["title"]
    by_sha[p["sha256"]] = p
    assert p["is_public"] == 0 and p["is_friend"] == 0 and p["is_family"] == 0, "not private: %r" % p
    data = urllib.request.urlopen(svc + "/static/" + p["id"]).read()
    assert hashlib.sha256(data).hexdigest() == p["sha256"], "bytes differ: " + p["title"]
set_of_folder = {}
for sha, folder in want.items():
    p = by_sha.get(sha)
    assert p is not None, "a file of %s is missing at the server" % folder
    assert len(p["sets"]) == 1, "%s is in sets %r" % (p["title"], p["sets"])
    title = p["sets"][0]
    # The default album rule: Camera/2023 is the set "Camera 2023".
    assert title == folder.replace("/", " "), (title, folder)
    assert set_of_folder.setdefault(folder, title) == title, (folder, title, set_of_folder)
assert len(set(set_of_folder.values())) == len(set_of_folder), set_of_folder
assert len(sets) == len(set_of_folder), "%d sets for %d folders" % (len(sets), len(set_of_folder))
for s in sets:
    assert s["primary"] in s["photos"], s
print("%d photos, each once, in %d sets: %s" % (len(photos), len(sets), sorted(set_of_folder.values())))
PY
}
check_server || sb_die "the Flickr server's records are not what was delivered"

# --- a second run uploads nothing ----------------------------------------------------------
"$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress >>"$work/agent.log" 2>&1 \
  || sb_die "the agent failed"
sleep 2
wait_delivered "$files"
again=$(curl -sS "$svc/_control/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uploads"])')
[[ $again == "$uploads" ]] || sb_die "the second run uploaded $((again - uploads)) more files"

# --- the API secret is in no log -------------------------------------------------------------
if grep -rqF -- "e2e-api-secret" "$work"/*.log "$work/connect.out"; then
  sb_die "the API secret appears in a log"
fi
echo "e2e flickr: PASS"
