#!/usr/bin/env bash
# End-to-end (issue 20) for SmugMug: `shoebox dest add --kind smugmug` +
# `shoebox dest connect` + `bind` deliver a device with nested folders to the local
# SmugMug of tests/fakes/smugmug_server.py (20 ms latency per request, every
# OAuth 1.0a signature recomputed). The server's own record then shows every
# photo exactly once, in the gallery its folder maps to (Camera/2023/x.jpg in
# gallery 2023 of folder Camera; a folder with photos and sub-folders is a
# gallery and a folder), byte-identical when downloaded back; a second agent
# run uploads nothing. The API secret and tokens appear in no log.
#
# `shoebox dest connect` runs the OAuth 1.0a flow against the server (the
# PIN read off its authorize page, tests/e2e/drive_stack.sh).
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

drive_stack_work smugmug

# --- media: nested folders ------------------------------------------------------------
mkdir -p "$work/src/Camera/2023/trip" "$work/src/Camera/2024" "$work/src/Phone"
for i in 1 2 3; do sb_gen_jpeg "$work/src/Camera/2023/IMG_$i.jpg" "$i" "2023:05:0$i 10:00:00"; done
sb_gen_jpeg "$work/src/Camera/2023/trip/IMG_4.jpg" 4 "2023:06:01 10:00:00"
sb_gen_jpeg "$work/src/Camera/2024/IMG_5.jpg" 5 "2024:01:01 10:00:00"
sb_gen_jpeg "$work/src/Phone/Été #1.jpg" 6 "2024:02:01 10:00:00"
sb_gen_jpeg "$work/src/top.jpg" 7 "2024:03:01 10:00:00"
files=$(find "$work/src" -type f | wc -l)

# --- servers: tests/e2e/drive_stack.sh ------------------------------------------------------
drive_stack_servers

# --- add and connect (OAuth 1.0a, out-of-band PIN) ---------------------------------------
sb dest add box --kind smugmug --set api_key=e2e-api-key --set "endpoint=$svc" \
  --set "upload_endpoint=$svc" --set "auth_endpoint=$svc" --set folder=Shoebox \
  | tee "$work/add.out"
grep -q "shoebox dest connect box" "$work/add.out" || sb_die "dest add did not point to dest connect"
drive_stack_connect_oauth1 "$svc/services/oauth/1.0a/authorize"
secret_words=("e2e-api-secret")

# --- a device backs up to it -------------------------------------------------------------
drive_stack_device
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
  if grep -rqF -- "$s" "$work"/*.log "$work/add.out" "$work/connect.out"; then sb_die "a secret appears in a log"; fi
done
sb_log "server stats: $(stats)"
echo "e2e smugmug: PASS"
