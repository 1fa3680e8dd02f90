#!/usr/bin/env bash
# End-to-end: the README's command, exactly as written,
#     deploy/quickstart.sh ~/Pictures /mnt/backup/photos
# run by root with the default state, then by an ordinary user, and what a
# user sees afterwards (issue 16).
#
# Root, default state (/var/lib/shoebox-quickstart): every photo arrives byte
# for byte; PostgreSQL (user postgres) reaches its cluster while the state
# stays closed to everyone else; every hint the run prints works as printed
# in a shell with nothing exported. A run whose state PostgreSQL cannot reach
# stops before building and leaves nothing behind. A re-run after the admin
# added a destination for something else, bound the device to one that cannot
# work (its root is a file) and to one whose credentials are refused (s3rver,
# wrong key): it binds nothing new, delivers the new photo, ends by itself
# naming both destinations and the command to look (exit 4), and `shoebox
# status` shows each trouble as one line: those two, a device bound nowhere
# whose watched folder is missing, then the same device revoked.
#
# An ordinary user (created here with useradd, removed at the end) runs the
# same command with its default state (~/.local/state/shoebox), its own
# PostgreSQL cluster and a coordinator on another port. A second full build
# as that user would take 10-20 minutes on 2 cores, so the user gets a copy
# of this checkout with build/release as root built it (sources and build
# tree, timestamps kept), owned by the user and mounted at the same path: for
# make nothing is out of date, so the quickstart's `cmake --build` is a real
# no-op in a tree the user owns, which the test checks (nothing compiled).
# That is what a user who builds a checkout of their own sees on a re-run.
#
# Root's default paths (/var/lib/shoebox-quickstart, ~/Pictures, /mnt/backup,
# /usr/local/bin) are not touched on this machine: the test runs in a private
# mount namespace where each is a bind mount of a temporary directory.
#   tests/e2e/quickstart_test.sh BUILD_DIR      (root; exit 77 = skipped)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:?usage: quickstart_test.sh BUILD_DIR}"
SB_NAME=quickstart-e2e
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"

if [[ $(id -u) != 0 ]]; then
  echo "SKIP: needs root (useradd, a private mount namespace, the quickstart as root)"; exit 77
fi
if [[ "$(realpath "$build")" != "$here/build/release" ]]; then
  echo "SKIP: the quickstart builds build/release; this is $(realpath "$build")"; exit 77
fi
if [[ -z ${SB_QS_IN_NS:-} ]]; then
  exec unshare --mount --propagation private env SB_QS_IN_NS=1 bash "$0" "$@"
fi

work="$(mktemp -d /tmp/shoebox-qs.XXXXXX)"
chmod 755 "$work"
user="sbqs$$"
qs_state=/var/lib/shoebox-quickstart
export PATH="$here/build/tools/node_modules/.bin:$PATH"
mounts=(); made=()
cleanup() {
  local rc=$? i st
  for st in "$qs_state" "$work/u-home/.local/state/shoebox"; do
    [[ -d $st/run ]] || continue
    for p in agent worker-1 worker-2 coordinator; do sb_stop "$st/run/$p.pid" 20; done
    sb_pg_stop "$st/pg"
  done
  sb_stop "$work/agent-laptop.pid" 10; sb_stop "$work/s3rver.pid" 10
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.out "$qs_state"/logs/*.log "$work"/u-home/.local/state/shoebox/logs/*.log; do
      [[ -f $l ]] || continue; echo "===== $l (tail)"; tail -n 40 "$l"
    done
  fi
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" || true; done
  for ((i = ${#made[@]} - 1; i >= 0; i--)); do rmdir "${made[i]}" 2>/dev/null || true; done
  id "$user" >/dev/null 2>&1 && userdel "$user" 2>/dev/null
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# overlay PATH DIR: in this namespace PATH shows DIR (created if missing,
# removed again at the end when it was).
overlay() {
  local path=$1 dir=$2 p=$1
  if [[ ! -e $path ]]; then
    while [[ ! -e $(dirname "$p") ]]; do p=$(dirname "$p"); done
    mkdir -p "$path"; made+=("$p")
  fi
  mount --bind "$dir" "$path"; mounts+=("$path")
}
check_tree() {  # check_tree SRC DELIVERED: every file of SRC, byte for byte
  local src=$1 got=$2 f bad=0
  while IFS= read -r -d '' f; do
    cmp -s "$f" "$got/${f#"$src"/}" || { echo "MISMATCH: $got/${f#"$src"/}" >&2; bad=1; }
  done < <(find "$src" -type f -print0)
  return $bad
}
# hint OUTFILE REGEX: the command part of the printed hint line matching REGEX.
hint() { sed -nE "s/^  (.*[^ ]) +$2.*/\\1/p" "$1" | head -n 1; }
# clean_sh USER CMD: CMD in a login shell of USER with nothing exported by us.
clean_sh() { runuser -l "$1" -c "$2"; }

device="$(hostname -s 2>/dev/null || hostname)"
root_home="$(getent passwd root | cut -d: -f6)"  # what ~ is in root's login shell
mkdir -p "$work/root-pics/2024" "$work/root-backup" "$work/root-state" "$work/usr-local-bin" "$work/locked"
chmod 700 "$work/locked"
cp -a /usr/local/bin/. "$work/usr-local-bin/"
overlay "$qs_state" "$work/root-state"
overlay "$root_home/Pictures" "$work/root-pics"
overlay /mnt/backup "$work/root-backup"
overlay /usr/local/bin "$work/usr-local-bin"
for i in 1 2 3 4; do sb_gen_jpeg "$work/root-pics/2024/IMG_$i.jpg" "$i" "2024:0$i:11 10:00:00"; done
sb_gen_mp4 "$work/root-pics/clip.mp4" 7 2
sb_gen_random "$work/root-pics/2024/big.mov" $((5 * 1024 * 1024))

# --- a state PostgreSQL cannot reach: refused before anything is built -------
t0=$(date +%s)
rc=0
(cd "$here" && deploy/quickstart.sh "$root_home/Pictures" /mnt/backup/photos --state "$work/locked/qs") \
  >"$work/refused.out" 2>&1 || rc=$?
[[ $rc != 0 ]] || sb_die "a state under a 0700 directory was accepted"
grep -q "postgres, which cannot enter $work/locked" "$work/refused.out" \
  || { cat "$work/refused.out"; sb_die "the refusal does not say that postgres cannot enter $work/locked"; }
[[ ! -e $work/locked/qs ]] || sb_die "the refused run left $work/locked/qs behind"
(( $(date +%s) - t0 < 120 )) || sb_die "the refusal came only after $(( $(date +%s) - t0 )) s (after the build?)"
[[ -z "$(ls -A "$qs_state")" ]] || sb_die "the refused run wrote into the default state $qs_state"
sb_log "a state postgres cannot reach is refused up front, nothing left behind"

# --- root, the README's command exactly -----------------------------------------
sb_log "root: deploy/quickstart.sh ~/Pictures /mnt/backup/photos"
rc=0
clean_sh root "cd '$here' && deploy/quickstart.sh ~/Pictures /mnt/backup/photos" >"$work/root.out" 2>&1 || rc=$?
[[ $rc == 0 ]] || sb_die "the quickstart as root exited $rc"
grep -q "Everything in the source is backed up and delivered" "$work/root.out" || sb_die "no success summary"
grep -qE "building shoebox \(4/4\)" "$work/root.out" || sb_die "no build progress (target k/n, percentage) printed"
grep -qE '^upload.* \| local' "$work/root.out" || sb_die "no backup progress line (upload | local) printed"
check_tree "$work/root-pics" "$work/root-backup/photos/$device/Pictures" || sb_die "root: delivered files differ"
sb_log "root: every photo delivered byte for byte"

# The state: reachable by postgres (group, traverse only), by no one else.
[[ "$(stat -c '%a %U:%G' "$qs_state")" == "710 root:postgres" ]] \
  || sb_die "state is $(stat -c '%a %U:%G' "$qs_state"), expected 710 root:postgres"
[[ "$(stat -c '%U %a' "$qs_state/pg")" == "postgres 700" ]] || sb_die "pg/ is $(stat -c '%U %a' "$qs_state/pg")"
! runuser -u postgres -- ls "$qs_state" >/dev/null 2>&1 || sb_die "postgres can list the state directory"
! runuser -u postgres -- cat "$qs_state/master.key" >/dev/null 2>&1 || sb_die "postgres can read master.key"
! runuser -u nobody -- test -x "$qs_state" || sb_die "others can enter the state directory"
[[ -z "$(find "$qs_state" -maxdepth 1 -perm /o+rwx -o -maxdepth 1 -perm /g+rw)" ]] \
  || sb_die "files in the state directory are open to others: $(find "$qs_state" -maxdepth 1 -perm /o+rwx -o -maxdepth 1 -perm /g+rw)"

# Every hint, as printed, in a fresh shell (nothing exported).
st_cmd="$(hint "$work/root.out" 'status +what is pending')"
[[ $st_cmd == shoebox ]] || sb_die "root's status hint is '$st_cmd', expected plain 'shoebox'"
clean_sh root "$st_cmd status" >"$work/hint-status.out" 2>&1 || sb_die "hint '$st_cmd status' failed: $(cat "$work/hint-status.out")"
grep -q "^  $device " "$work/hint-status.out" || sb_die "'$st_cmd status' does not list $device"
kit_cmd="$(grep -A1 'IMPORTANT (shown once)' "$work/root.out" | tail -n 1 | sed 's/^ *//')"
[[ $kit_cmd == "shoebox key export" ]] || sb_die "kit hint is '$kit_cmd'"
clean_sh root "$kit_cmd" >"$work/kit.out" 2>&1 || sb_die "hint '$kit_cmd' failed: $(cat "$work/kit.out")"
restore_cmd="$(hint "$work/root.out" 'restore everything')"
clean_sh root "${restore_cmd/DIR/$work/restore-root}" >"$work/restore.out" 2>&1 \
  || sb_die "hint '$restore_cmd' failed: $(cat "$work/restore.out")"
[[ $(find "$work/restore-root" -type f | wc -l) == $(find "$work/root-pics" -type f | wc -l) ]] \
  || sb_die "the restore hint restored $(find "$work/restore-root" -type f | wc -l) files"
sb_log "root: the status, key export and restore hints work as printed"

# --- the admin changes things; the same command again -------------------------------
export SHOEBOX_STATE="$qs_state"  # for this script's own admin calls only
sb() { "$build/cli/shoebox" "$@"; }
mkdir -p "$work/other"; : >"$work/a-file"
sb dest add other --kind local --set "root=$work/other" >/dev/null        # bound to nothing
# Destinations that break after they were added (--no-check: the connection
# check at `dest add` would refuse them now).
sb dest add broken --no-check --kind local --set "root=$work/a-file/photos" >/dev/null
sb bind --device "$device" --dest broken >/dev/null
s3_port=$(sb_free_port)
mkdir -p "$work/s3rver"
sb_start s3rver "$work/s3rver.log" "$work/s3rver.pid" \
  s3rver --directory "$work/s3rver" --port "$s3_port" --address 127.0.0.1 --configure-bucket photos --silent
sb_wait_port 127.0.0.1 "$s3_port" 30 || sb_die "s3rver did not start"
sb dest add refused --no-check --kind s3 --set "endpoint=http://127.0.0.1:$s3_port" --set bucket=photos \
  --set region=us-east-1 --secret access_key_id=NOT-A-KEY --secret secret_access_key=nope >/dev/null
sb bind --device "$device" --dest refused >/dev/null
sb_gen_jpeg "$work/root-pics/2024/IMG_new.jpg" 99 "2024:06:01 10:00:00"
unset SHOEBOX_STATE

sb_log "root: the same command again, with a broken and a refused destination bound"
t0=$(date +%s); rc=0
clean_sh root "cd '$here' && timeout 600 deploy/quickstart.sh ~/Pictures /mnt/backup/photos" >"$work/rerun.out" 2>&1 || rc=$?
[[ $rc == 4 ]] || sb_die "the re-run exited $rc, expected 4 (some files cannot be delivered)"
grep -q "NOT DELIVERED to broken" "$work/rerun.out" || sb_die "the re-run does not name 'broken'"
grep -q "NOT DELIVERED to refused (credentials refused" "$work/rerun.out" || sb_die "the re-run does not name 'refused' as refusing credentials"
grep -q "shoebox jobs --dest broken" "$work/rerun.out" || sb_die "the re-run does not say how to look at 'broken'"
sb_log "root: the re-run ended by itself after $(( $(date +%s) - t0 )) s naming both destinations"
check_tree "$work/root-pics" "$work/root-backup/photos/$device/Pictures" || sb_die "the new photo did not arrive at local"
export SHOEBOX_STATE="$qs_state"
sb status --json >"$work/status.json"
python3 - "$work/status.json" <<'PY' || sb_die "the re-run changed bindings (see above)"
import json, sys
s = json.load(open(sys.argv[1]))
d = {x["name"]: x for x in s["destinations"]}
total = lambda x: sum(x[k] for k in ("pending_files", "in_flight_files", "delivered_files", "failed_files", "dead_files"))
assert total(d["other"]) == 0, f"'other' got deliveries: {d['other']}"
assert d["local"]["delivered_files"] == 7, f"local: {d['local']}"  # 6 photos + the new one, once each
PY
# (The connection check at `dest add` leaves only its empty .shoebox/check folder.)
[[ -z "$(find "$work/other" -type f)" ]] || sb_die "files arrived at 'other', which the device was never bound to: $(find "$work/other" -type f)"

# --- status: one line per trouble ---------------------------------------------------
# A second device whose watched folder is missing, bound nowhere.
cat >"$work/agent-laptop.toml" <<TOML
[coordinator]
address = "$(sed -n 's/^coordinator = "\(.*\)"/\1/p' "$qs_state/cli.toml")"
[agent]
device_name = "laptop"
state_dir = "$work/agent-laptop"
[[folder]]
path = "$work/no-such-folder"
TOML
sb enroll-token --device laptop 2>/dev/null \
  | "$build/agent/shoebox-agent" --config "$work/agent-laptop.toml" enroll --token - >/dev/null \
  || sb_die "laptop could not enroll"
sb_start agent-laptop "$work/agent-laptop.log" "$work/agent-laptop.pid" \
  "$build/agent/shoebox-agent" --config "$work/agent-laptop.toml" run --no-progress
for i in $(seq 1 100); do
  sb status --json >"$work/status.json"
  grep -q folder_unavailable "$work/status.json" && break; sleep 0.3
done
sb status >"$work/status.txt"
expect_line() {  # expect_line FILE TEXT...: exactly one "  !! " line containing every TEXT
  python3 -c 'import sys; f, *ts = sys.argv[1:]
n = sum(1 for l in open(f) if l.startswith("  !! ") and all(t in l for t in ts))
sys.exit(n != 1)' "$@" || { cat "$1"; sb_die "expected exactly one status line with: ${*:2}"; }
}
expect_line "$work/status.txt" "device 'laptop' is bound to no destination" "shoebox bind --device laptop"
expect_line "$work/status.txt" "device 'laptop': watched folder $work/no-such-folder: is missing"
expect_line "$work/status.txt" "destination 'refused': authentication failed" "shoebox retry --dest refused"
if grep -q "destination 'broken': .* gave up, last error:" "$work/status.txt"; then
  expect_line "$work/status.txt" "destination 'broken':" "last error:" "shoebox jobs --dest broken --state dead"
  grep "destination 'broken'" "$work/status.txt" | grep -qv "last error: (none recorded)" || sb_die "no last error for broken"
else
  sb jobs --dest broken; sb_die "no dead-delivery line for 'broken'"
fi
python3 - "$work/status.json" <<'PY' || sb_die "status --json lacks the problems"
import json, sys
kinds = {(p["kind"], p["device"] or p["destination"]) for p in json.load(open(sys.argv[1]))["problems"]}
for k in [("device_unbound", "laptop"), ("folder_unavailable", "laptop"),
          ("destination_auth_failed", "refused"), ("destination_dead", "broken")]:
    assert k in kinds, (k, kinds)
PY
sb revoke --device laptop >/dev/null
sb status >"$work/status.txt"
expect_line "$work/status.txt" "device 'laptop' is revoked" "shoebox enroll-token --device laptop"
! grep -q "device 'laptop' is bound to no destination" "$work/status.txt" || sb_die "a revoked device is also shown unbound"
sb_log "status: unbound device, missing folder, refused and dead destinations, revoked device: one line each"
sb_stop "$work/agent-laptop.pid" 10
unset SHOEBOX_STATE

# Root's --stop hint, as printed.
stop_cmd="$(hint "$work/root.out" 'stop all services')"
clean_sh root "$stop_cmd" >"$work/stop.out" 2>&1 || sb_die "hint '$stop_cmd' failed"
[[ ! -f $qs_state/run/coordinator.pid ]] || sb_die "'$stop_cmd' left the coordinator running"

# --- an ordinary user, the README's command exactly ------------------------------------
useradd -m -d "$work/u-home" -s /bin/bash "$user"
mkdir -p "$work/u-home/Pictures" "$work/u-backup"
cp -a "$work/root-pics/." "$work/u-home/Pictures/"
chown -R "$user:" "$work/u-home" "$work/u-backup"
overlay /mnt/backup "$work/u-backup"
sb_log "user: a copy of this checkout with root's build/release, owned by $user, at $here"
mkdir -p "$work/tree/build"
tar -C "$here" --exclude=./build --exclude=./.git -cf - . | tar -C "$work/tree" -xpf -
cp -a "$here/build/release" "$work/tree/build/release"
chown -R "$user:" "$work/tree"
overlay "$here" "$work/tree"
rc=0
clean_sh "$user" "cd '$here' && deploy/quickstart.sh ~/Pictures /mnt/backup/photos" >"$work/user.out" 2>&1 || rc=$?
[[ $rc == 0 ]] || sb_die "the quickstart as $user exited $rc"
grep -q "build up to date" "$work/user.out" || sb_die "the user's build was not a no-op"
ustate="$work/u-home/.local/state/shoebox"
! grep -qE '^\[ *[0-9]+%\] Building' "$ustate/build.log" || sb_die "the user's run compiled something"
check_tree "$work/u-home/Pictures" "$work/u-backup/photos/$device/Pictures" || sb_die "user: delivered files differ"
[[ "$(stat -c '%U %a' "$ustate")" == "$user 700" ]] || sb_die "user state is $(stat -c '%U %a' "$ustate")"
[[ "$(stat -c '%U' "$ustate/pg")" == "$user" ]] || sb_die "the user's cluster is not the user's"
st_cmd="$(hint "$work/user.out" 'status +what is pending')"
[[ $st_cmd == "$here/build/release/cli/shoebox" ]] || sb_die "user's status hint is '$st_cmd'"
clean_sh "$user" "$st_cmd status" >"$work/u-status.out" 2>&1 || sb_die "user hint '$st_cmd status' failed: $(cat "$work/u-status.out")"
grep -q "^  $device " "$work/u-status.out" || sb_die "the user's status does not list $device"
stop_cmd="$(hint "$work/user.out" 'stop all services')"
clean_sh "$user" "$stop_cmd" >"$work/u-stop.out" 2>&1 || sb_die "user hint '$stop_cmd' failed"
sb_log "user: backed up and delivered with its own state; status and stop hints work as printed"
echo "quickstart e2e: PASS"
