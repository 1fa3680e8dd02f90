#!/usr/bin/env bash
# The Debian packages end to end, as an administrator would use them:
#   1. `cpack` packs the binaries this build tree already has (no rebuild);
#   2. lintian finds no error; dpkg-shlibdeps declared the libraries;
#   3. `apt-get install ./shoebox*.deb` creates the shoebox user and dirs;
#      `systemd-analyze verify` accepts the installed units;
#   4. `shoebox setup` on a PostgreSQL cluster of Debian's postgresql-common
#      (a private one made for the test, started by setup itself) creates the
#      role, database, configs, keys, CA, workers, the agent's identity and a
#      local destination; run again it creates nothing;
#   5. the daemons run as the shoebox user, started directly with setpriv
#      (no systemd as PID 1 on this machine, so the units cannot run them),
#      back up a folder, deliver it, and `shoebox restore` (as root, through
#      /etc/shoebox/cli.toml) gives it back byte for byte;
#   6. `apt-get remove`, then `apt-get purge`: the master key, chunk store,
#      identities and the delivered copies are all still there.
# Needs root: it installs packages system-wide and removes them at the end.
#   tests/packaging/packaging_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(cd "${1:?usage: packaging_test.sh BUILD_DIR}" && pwd)"
SB_NAME=packaging
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"

if [[ $(id -u) != 0 ]]; then
  echo "packaging: SKIP: needs root (installs packages system-wide)"
  exit 77
fi
marker=/var/lib/shoebox/.made-by-packaging-test
pkgs=(shoebox-server shoebox-agent shoebox)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
# Never touch a real installation: only leftovers of an earlier run of this
# test (marked) are cleaned up.
if [[ -e /var/lib/shoebox && ! -e $marker ]] || { installed shoebox-server && [[ ! -e $marker ]]; }; then
  sb_die "this machine has a Shoebox installation (/var/lib/shoebox or the packages) not made by this test; run the test elsewhere"
fi

work="$(mktemp -d /tmp/shoebox-pkg.XXXXXX)"
chmod 755 "$work"
cluster="sbpkg_$$"
user_existed=0; getent passwd shoebox >/dev/null && user_existed=1
pids=()
cleanup() {
  local rc=$?
  set +e
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.log /var/lib/shoebox/setup-coordinator.log; do
      [[ -f $l ]] && { echo "===== $l (tail)"; tail -n 40 "$l"; }
    done
  fi
  for p in "${pkgs[@]}"; do
    installed "$p" && DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$p" >/dev/null 2>&1
  done
  pg_dropcluster --stop 15 "$cluster" 2>/dev/null
  # Checked above: whatever is in these places now was made by this test.
  rm -rf /var/lib/shoebox /var/lib/shoebox-agent /etc/shoebox
  [[ $user_existed == 1 ]] || { userdel shoebox 2>/dev/null; groupdel shoebox 2>/dev/null; }
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
# A leftover of an interrupted earlier run goes first.
for p in "${pkgs[@]}"; do
  installed "$p" && DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$p" >/dev/null
done
rm -rf /var/lib/shoebox /var/lib/shoebox-agent /etc/shoebox

# --- 1. build the packages from this tree ------------------------------------------
t0=$(date +%s)
(cd "$work" && cpack --config "$build/CPackConfig.cmake" -B "$work/pkgs" >"$work/cpack.log" 2>&1) \
  || { cat "$work/cpack.log"; sb_die "cpack failed"; }
mapfile -t debs < <(ls "$work"/pkgs/*.deb)
[[ ${#debs[@]} == 3 ]] || sb_die "expected 3 packages, cpack wrote: ${debs[*]}"
sb_log "cpack: ${#debs[@]} packages in $(($(date +%s) - t0)) s: $(cd "$work/pkgs" && echo *.deb)"
server_deb=$(ls "$work"/pkgs/shoebox-server_*.deb)
agent_deb=$(ls "$work"/pkgs/shoebox-agent_*.deb)
cli_deb=$(ls "$work"/pkgs/shoebox_*.deb)

# --- 2. lintian and the declared dependencies ----------------------------------------
if command -v lintian >/dev/null; then
  lintian --fail-on error --tag-display-limit 0 "${debs[@]}" >"$work/lintian.log" 2>&1 \
    || { cat "$work/lintian.log"; sb_die "lintian found errors"; }
  sb_log "lintian: no errors ($(grep -c '^W:' "$work/lintian.log" || true) warnings)"
else
  sb_die "lintian is not installed (deploy/install-deps.sh --test installs it)"
fi
for deb in "$server_deb" "$agent_deb" "$cli_deb"; do
  deps=$(dpkg-deb -f "$deb" Depends)
  [[ $deps == *libgrpc++* && $deps == *libc6* ]] \
    || sb_die "$(basename "$deb"): Depends lacks the shared libraries (dpkg-shlibdeps): $deps"
done
[[ $(dpkg-deb -f "$server_deb" Depends) == *libpqxx* ]] || sb_die "shoebox-server does not depend on libpqxx"
[[ $(dpkg-deb -f "$agent_deb" Depends) == *librocksdb* ]] || sb_die "shoebox-agent does not depend on librocksdb"
dpkg-deb -c "$server_deb" >"$work/server-files.txt"
for f in ./usr/bin/shoebox-coordinator ./usr/bin/shoebox-worker ./lib/systemd/system/shoebox-coordinator.service \
         "./lib/systemd/system/shoebox-worker@.service" ./usr/share/doc/shoebox-server/copyright; do
  grep -q " $f\$" "$work/server-files.txt" || sb_die "shoebox-server lacks $f"
done

# --- 3. install ------------------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "$cli_deb" "$server_deb" "$agent_deb" >"$work/apt-install.log" 2>&1 \
  || { cat "$work/apt-install.log"; sb_die "apt-get install of the packages failed"; }
touch "$marker"
getent passwd shoebox >/dev/null || sb_die "the packages did not create the shoebox user"
[[ $(stat -c '%U %a' /var/lib/shoebox) == "shoebox 700" ]] || sb_die "/var/lib/shoebox: $(stat -c '%U %a' /var/lib/shoebox)"
[[ $(stat -c '%U:%G %a' /etc/shoebox) == "root:shoebox 755" ]] || sb_die "/etc/shoebox: $(stat -c '%U:%G %a' /etc/shoebox)"
grep -q "shoebox setup" "$work/apt-install.log" || sb_die "postinst did not point at 'shoebox setup'"
for b in shoebox shoebox-coordinator shoebox-worker shoebox-agent; do
  [[ $(command -v "$b") == /usr/bin/$b ]] || sb_die "$b is not /usr/bin/$b after install"
done
sb_log "installed: $(dpkg-query -W -f='${Package} ${Version}, ' "${pkgs[@]}")"

# No systemd as PID 1 here: `systemd-analyze verify` still parses and checks
# the unit files and that their ExecStart binaries exist.
systemd-analyze verify /lib/systemd/system/shoebox-coordinator.service \
  /lib/systemd/system/shoebox-agent.service "/lib/systemd/system/shoebox-worker@.service" \
  >"$work/verify.log" 2>&1 || { cat "$work/verify.log"; sb_die "systemd-analyze verify rejected a unit"; }
if grep -i "shoebox" "$work/verify.log"; then sb_die "systemd-analyze verify complained about a unit"; fi
sb_log "systemd-analyze verify: units accepted"

# --- 4. shoebox setup ----------------------------------------------------------------------
pg_port=$(sb_free_port); c_port=$(sb_free_port); m_port=$(sb_free_port)
pg_createcluster 15 "$cluster" -p "$pg_port" >"$work/pg_createcluster.log" 2>&1 \
  || { cat "$work/pg_createcluster.log"; sb_die "pg_createcluster failed"; }
device=pkgtest
mkdir -p "$work/photos/2024/trip" "$work/photos/phone"
for i in 1 2 3 4 5; do sb_gen_jpeg "$work/photos/2024/trip/IMG_$i.jpg" "$i" "2024:0$i:1$i 10:00:00"; done
sb_gen_jpeg "$work/photos/phone/Été #1.jpg" 9 "2024:07:01 09:00:00"
sb_gen_mp4 "$work/photos/phone/clip.mp4" 3 1
nfiles=$(find "$work/photos" -type f | wc -l)
chmod -R a+rX "$work/photos"
# The admin as root, with no cli.toml of its own: `shoebox` finds /etc/shoebox/cli.toml.
export HOME="$work/home"; mkdir -p "$HOME"
unset SHOEBOX_CLI_CONFIG SHOEBOX_STATE
setup_args=(--pg-cluster "15/$cluster" --listen "127.0.0.1:$c_port" --metrics-listen "127.0.0.1:$m_port" --device "$device"
  --dest-local "$work/dest" --backup "$work/photos")
shoebox setup "${setup_args[@]}" >"$work/setup-1.log" 2>&1 || { cat "$work/setup-1.log"; sb_die "shoebox setup failed"; }
cat "$work/setup-1.log"
for what in "PostgreSQL role shoebox" "PostgreSQL database shoebox" "/etc/shoebox/coordinator.toml" \
    "/etc/shoebox/worker-2.toml" "pool.key" "master.key" "worker identity $device-worker-1" \
    "device identity $device" "destination local -> $work/dest"; do
  grep -q "created .*$what" "$work/setup-1.log" || sb_die "setup did not report creating '$what'"
done
grep -q "starting PostgreSQL cluster 15/$cluster" "$work/setup-1.log" || sb_die "setup did not start the stopped cluster"
grep -q "systemd is not running on this machine" "$work/setup-1.log" || sb_die "setup did not say how to start without systemd"
grep -q "shoebox bind --device $device --dest local" "$work/setup-1.log" || sb_die "setup did not print the bind step"
for f in /var/lib/shoebox/master.key /var/lib/shoebox/tls/ca.crt /var/lib/shoebox/tls/admin.key \
         /var/lib/shoebox/pool.key /var/lib/shoebox/worker-1-tls/client.crt /var/lib/shoebox-agent/tls/client.crt; do
  [[ $(stat -c %U "$f") == shoebox ]] || sb_die "$f is missing or not owned by shoebox"
done
[[ $(stat -c %a /var/lib/shoebox/master.key) == 600 ]] || sb_die "master.key is not 0600"
[[ $(stat -c %a /etc/shoebox/coordinator.toml) == 640 ]] || sb_die "coordinator.toml is not 0640"
pgrep -u shoebox -x shoebox-coordin >/dev/null && sb_die "setup left its coordinator running"
key_sum=$(sha256sum </var/lib/shoebox/master.key)

# Again: nothing is created, nothing changes.
shoebox setup "${setup_args[@]}" >"$work/setup-2.log" 2>&1 || { cat "$work/setup-2.log"; sb_die "second shoebox setup failed"; }
if grep -q "created" "$work/setup-2.log"; then cat "$work/setup-2.log"; sb_die "second setup created something"; fi
[[ $(sha256sum </var/lib/shoebox/master.key) == "$key_sum" ]] || sb_die "second setup changed the master key"
sb_log "setup is idempotent"

# --- 5. the daemons as the shoebox user, a backup, a restore -----------------------------------
start() {  # start NAME CMD...: in its own session, as shoebox, log in $work
  local name=$1; shift
  # The subshell execs setsid, which execs setpriv, which execs the daemon:
  # $! is the daemon's own PID.
  (cd / && exec setsid setpriv --reuid shoebox --regid shoebox --init-groups -- "$@" \
    >>"$work/$name.log" 2>&1 </dev/null) &
  pids+=($!)
}
start coordinator shoebox-coordinator --config /etc/shoebox/coordinator.toml
sb_wait_port 127.0.0.1 "$c_port" 60 || sb_die "the coordinator did not start"
start worker-1 shoebox-worker --config /etc/shoebox/worker-1.toml
start worker-2 shoebox-worker --config /etc/shoebox/worker-2.toml
start agent shoebox-agent --config /etc/shoebox/agent.toml run --no-progress
[[ $(ps -o user= -p "${pids[0]}") == shoebox ]] || sb_die "the coordinator does not run as shoebox"
for _ in $(seq 1 150); do shoebox devices 2>/dev/null | grep -q "^$device " && break; sleep 0.2; done
shoebox devices | grep -q "^$device " || sb_die "device $device never connected"
# Setup, run once more now that the device is known, binds it (and still creates nothing).
shoebox setup "${setup_args[@]}" >"$work/setup-3.log" 2>&1 || { cat "$work/setup-3.log"; sb_die "third shoebox setup failed"; }
grep -q "bound device $device to local" "$work/setup-3.log" || { cat "$work/setup-3.log"; sb_die "setup did not bind the device"; }
grep -q "using the coordinator that answers" "$work/setup-3.log" || sb_die "setup did not use the running coordinator"
if grep -q "created" "$work/setup-3.log"; then sb_die "third setup created something"; fi

for i in $(seq 1 600); do
  shoebox status --json >"$work/status.json" 2>/dev/null || { sleep 0.5; continue; }
  read -r delivered open dead < <(python3 -c '
import json,sys; s=json.load(open(sys.argv[1])); d=s["destinations"]
print(sum(x["delivered_files"] for x in d), sum(x["pending_files"]+x["in_flight_files"]+x["failed_files"] for x in d), sum(x["dead_files"] for x in d))' "$work/status.json")
  [[ $dead == 0 ]] || sb_die "$dead deliveries are dead"
  [[ $delivered -ge $nfiles && $open == 0 ]] && break
  sleep 0.5
done
[[ $delivered == "$nfiles" ]] || { cat "$work/status.json"; sb_die "delivered $delivered of $nfiles files"; }
[[ $(find "$work/dest" -type f | wc -l) == "$nfiles" ]] || sb_die "the destination folder does not hold $nfiles files"
shoebox restore --device "$device" --to "$work/restore" >"$work/restore.log" 2>&1 \
  || { cat "$work/restore.log"; sb_die "shoebox restore failed"; }
diff -r "$work/photos" "$work/restore" || sb_die "the restored folder differs from the source"
sb_log "backed up, delivered ($nfiles files) and restored byte for byte"

for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
  kill -TERM "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null || true
done
pids=()

# --- 6. remove, then purge: the data stays ---------------------------------------------------
chunks_before=$(find /var/lib/shoebox/chunks -type f | wc -l)
(( chunks_before > 0 )) || sb_die "the chunk store is empty"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q "${pkgs[@]}" >"$work/apt-remove.log" 2>&1 \
  || { cat "$work/apt-remove.log"; sb_die "apt-get remove failed"; }
installed shoebox-server && sb_die "shoebox-server is still installed after remove"
[[ ! -e /usr/bin/shoebox-coordinator ]] || sb_die "remove left /usr/bin/shoebox-coordinator"
[[ -f /etc/shoebox/coordinator.toml && -f /etc/shoebox/agent.toml ]] || sb_die "remove deleted the configs"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${pkgs[@]}" >"$work/apt-purge.log" 2>&1 \
  || { cat "$work/apt-purge.log"; sb_die "apt-get purge failed"; }
[[ ! -e /etc/shoebox/coordinator.toml && ! -e /etc/shoebox/agent.toml ]] || sb_die "purge kept the configs"
grep -q "kept /var/lib/shoebox" "$work/apt-purge.log" || sb_die "purge did not say it kept /var/lib/shoebox"
[[ $(sha256sum </var/lib/shoebox/master.key) == "$key_sum" ]] || sb_die "the master key is gone or changed after purge"
[[ $(find /var/lib/shoebox/chunks -type f | wc -l) == "$chunks_before" ]] || sb_die "chunks were deleted by remove/purge"
[[ -f /var/lib/shoebox/tls/ca.crt && -f /var/lib/shoebox-agent/tls/client.crt ]] || sb_die "identities were deleted"
[[ $(find "$work/dest" -type f | wc -l) == "$nfiles" ]] || sb_die "delivered copies were deleted"
runuser -u postgres -- psql -X -tA -h /var/run/postgresql -p "$pg_port" -d shoebox -c "SELECT count(*) FROM devices" \
  | grep -qx 1 || sb_die "the database lost its catalog"
sb_log "after remove and purge: master key, $chunks_before chunk files, identities, catalog and copies are all there"
echo "packaging: 1 passed, 0 failed"
