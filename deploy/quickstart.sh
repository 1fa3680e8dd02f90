#!/usr/bin/env bash
# Shoebox in one command: back up SOURCE_DIR and deliver every file to DEST_DIR.
#
#   deploy/quickstart.sh SOURCE_DIR DEST_DIR [options]   set up (first run) / start, back up, deliver
#   deploy/quickstart.sh --stop  [--state DIR]           stop every service it started
#   deploy/quickstart.sh --status [--state DIR]          what is running, and `shoebox status`
#
# Options:
#   --state DIR        state directory (default ~/.local/state/shoebox): PostgreSQL
#                      cluster, master key, chunk store, configs, logs
#   --device NAME      device name (default: this host's name)
#   --s3 URL           also deliver to an S3 bucket: s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=R
#                      with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment
#   --no-wait          start everything but do not wait for the first backup
#   --timeout SECS     give up waiting after SECS (default: no limit)
#
# It installs missing Debian packages, builds the binaries (build/release), and
# never writes outside the state directory and DEST_DIR (plus a `shoebox`
# symlink in /usr/local/bin when run as root and nothing else is there).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SB_NAME=quickstart
# shellcheck source=deploy/lib.sh
source "$here/deploy/lib.sh"

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

state="${SHOEBOX_STATE:-$HOME/.local/state/shoebox}"
device="$(hostname -s 2>/dev/null || hostname)"
mode=run; src=""; dest=""; s3url=""; wait_first=1; timeout=0
while (($#)); do
  case "$1" in
    --stop) mode=stop ;;
    --status) mode=status ;;
    --state) state="$2"; shift ;;
    --device) device="$2"; shift ;;
    --s3) s3url="$2"; shift ;;
    --no-wait) wait_first=0 ;;
    --timeout) timeout="$2"; shift ;;
    -h|--help) usage ;;
    -*) sb_die "unknown option '$1' (see --help)" ;;
    *) if [[ -z $src ]]; then src="$1"; elif [[ -z $dest ]]; then dest="$1"; else usage; fi ;;
  esac
  shift
done
mkdir -p "$state"
state="$(cd "$state" && pwd)"
bin="$here/build/release"
export SHOEBOX_STATE="$state"

stop_all() {
  sb_log "stopping services in $state"
  sb_stop "$state/run/agent.pid" 30
  sb_stop "$state/run/worker-1.pid" 120
  sb_stop "$state/run/worker-2.pid" 120
  sb_stop "$state/run/coordinator.pid" 30
  sb_pg_stop "$state/pg"
  sb_log "stopped; run the quickstart again to start everything again"
}

if [[ $mode == stop ]]; then stop_all; exit 0; fi
if [[ $mode == status ]]; then
  for p in coordinator worker-1 worker-2 agent; do
    if [[ -f "$state/run/$p.pid" ]] && kill -0 "$(cat "$state/run/$p.pid")" 2>/dev/null; then
      echo "$p: running (pid $(cat "$state/run/$p.pid"))"; else echo "$p: stopped"; fi
  done
  exec "$bin/cli/shoebox" status
fi

[[ -n $src && -n $dest ]] || usage
[[ -d $src ]] || sb_die "source folder '$src' does not exist or is not a directory"
src="$(cd "$src" && pwd)"
mkdir -p "$dest" || sb_die "cannot create destination '$dest'"
dest="$(cd "$dest" && pwd)"
case "$dest/" in "$src/"*) sb_die "destination $dest is inside the source $src: pick a folder outside it" ;; esac
case "$src/" in "$dest/"*) sb_die "source $src is inside the destination $dest: pick a folder outside it" ;; esac
case "$state/" in "$src/"*) sb_die "state directory $state is inside the source $src: use --state" ;; esac

t_start=$(date +%s)

# 1. Packages and build.
"$here/deploy/install-deps.sh"
sb_log "building (first time takes several minutes on 2 cores)"
(cd "$here" && cmake --preset release >"$state/build.log" 2>&1 \
  && cmake --build build/release -j"$(nproc)" --target shoebox-coordinator shoebox-worker shoebox-agent shoebox \
     >>"$state/build.log" 2>&1) || sb_die "build failed, see $state/build.log"

# 2. State directory, ports, keys.
mkdir -p "$state/run" "$state/logs" "$state/chunks" "$state/agent"
# Owner only; as root, others may traverse (not list) so the private
# PostgreSQL cluster, which runs as user postgres, can reach its directory.
if [[ $(id -u) == 0 ]]; then chmod 711 "$state"; else chmod 700 "$state"; fi
if [[ ! -f "$state/ports.env" ]]; then
  cport=7443; (exec 3<>/dev/tcp/127.0.0.1/7443) 2>/dev/null && cport=$(sb_free_port)
  { echo "pg_port=$(sb_free_port)"; echo "coordinator_port=$cport"; echo "metrics_port=$(sb_free_port)"; } >"$state/ports.env"
fi
# shellcheck disable=SC1091
source "$state/ports.env"
caddr="127.0.0.1:$coordinator_port"
[[ -f "$state/pool.key" ]] || "$bin/cli/shoebox" pool-key --private "$state/pool.key" --public "$state/pool.pub" >/dev/null

# 3. Configuration files (rewritten each run from the flags; edit the flags, not the files).
cat >"$state/coordinator.toml" <<TOML
[coordinator]
listen = "$caddr"
key_file = "$state/master.key"
create_key = true
metrics_listen = "127.0.0.1:$metrics_port"
# Mutual TLS: the CA, server and admin certificates are created in $state/tls
# on first start; workers and the agent enroll with one-time tokens below.

[database]
url = "postgresql://shoebox@127.0.0.1:$pg_port/shoebox"

[chunk_store]
location = "$state/chunks"
TOML
for w in 1 2; do
cat >"$state/worker-$w.toml" <<TOML
[worker]
name = "$device-worker-$w"
coordinator = "$caddr"
tls_dir = "$state/worker-$w-tls"
kinds = ["local", "s3", "webdav", "sftp", "rclone"]
concurrency = 2
chunk_store = "$state/chunks"
master_key_file = "$state/master.key"
pool_key_file = "$state/pool.key"
TOML
done
cat >"$state/agent.toml" <<TOML
[coordinator]
address = "$caddr"

[agent]
device_name = "$device"
state_dir = "$state/agent"
settle_seconds = 5

[[folder]]
path = "$src"
TOML
cat >"$state/cli.toml" <<TOML
coordinator = "$caddr"
tls_dir = "$state/tls"
pool_public_key = "$state/pool.pub"
TOML
chmod 600 "$state"/*.toml

# 4. Services.
sb_log "starting PostgreSQL (private cluster in $state/pg, port $pg_port)"
sb_pg_start "$state/pg" "$pg_port"
sb_log "starting coordinator on $caddr"
sb_start coordinator "$state/logs/coordinator.log" "$state/run/coordinator.pid" \
  "$bin/coordinator/shoebox-coordinator" --config "$state/coordinator.toml"
sb_wait_port 127.0.0.1 "$coordinator_port" 60 || sb_die "coordinator did not start, see $state/logs/coordinator.log"
shoebox() { "$bin/cli/shoebox" "$@"; }

# Enroll the workers and this device once (a one-time token each; the
# identities stay in the state directory, keys 0600).
for w in 1 2; do
  if [[ ! -f "$state/worker-$w-tls/client.crt" ]]; then
    # The token goes through a pipe, never onto a command line (ps).
    SHOEBOX_CLI_CONFIG="$state/cli.toml" shoebox enroll-token --worker "$device-worker-$w" 2>/dev/null \
      | "$bin/workers/shoebox-worker" --config "$state/worker-$w.toml" enroll --token - >/dev/null \
      || sb_die "worker $w could not enroll (see $state/logs/coordinator.log)"
  fi
  sb_start "worker-$w" "$state/logs/worker-$w.log" "$state/run/worker-$w.pid" \
    "$bin/workers/shoebox-worker" --config "$state/worker-$w.toml"
done
if [[ ! -f "$state/agent/tls/client.crt" ]]; then
  SHOEBOX_CLI_CONFIG="$state/cli.toml" shoebox enroll-token --device "$device" 2>/dev/null \
    | "$bin/agent/shoebox-agent" --config "$state/agent.toml" enroll --token - >/dev/null \
    || sb_die "device '$device' could not enroll (see $state/logs/coordinator.log)"
fi

# 5. Destinations and bindings (idempotent).
existing="$(shoebox dest list 2>/dev/null || true)"
if ! grep -q "^local " <<<"$existing"; then
  shoebox dest add local --kind local --set "root=$dest" >/dev/null
elif ! grep -q "\"root\": *\"$dest\"" <<<"$existing"; then
  sb_log "NOTE: destination 'local' already points elsewhere (see 'shoebox dest list'); adding $dest as 'local-2'"
  grep -q "^local-2 " <<<"$existing" || shoebox dest add local-2 --kind local --set "root=$dest" >/dev/null
fi
if [[ -n $s3url ]]; then
  [[ -n ${AWS_ACCESS_KEY_ID:-} && -n ${AWS_SECRET_ACCESS_KEY:-} ]] \
    || sb_die "--s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
  python3 - "$s3url" >"$state/s3.args" <<'PY'
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
if p.scheme != "s3" or not p.netloc:
    sys.exit("--s3: expected s3://BUCKET[/PREFIX]?endpoint=URL&region=R")
q = dict(u.parse_qsl(p.query))
print(f"--set\nbucket={p.netloc}")
if p.path.strip("/"): print(f"--set\nprefix={p.path.strip('/')}")
for k in ("endpoint", "region", "style"):
    if k in q: print(f"--set\n{k}={q[k]}")
PY
  if ! grep -q "^s3 " <<<"$existing"; then
    mapfile -t s3args <"$state/s3.args"
    shoebox dest add s3 --kind s3 "${s3args[@]}" \
      --secret "access_key_id=$AWS_ACCESS_KEY_ID" --secret "secret_access_key=$AWS_SECRET_ACCESS_KEY" >/dev/null
  fi
fi

sb_log "starting agent for device '$device' watching $src"
sb_start agent "$state/logs/agent.log" "$state/run/agent.pid" \
  "$bin/agent/shoebox-agent" --config "$state/agent.toml" run --no-progress
# The device exists once the agent said hello; bind it to every destination.
for i in $(seq 1 100); do
  shoebox devices 2>/dev/null | grep -q "^$device " && break
  sleep 0.2
done
for d in $(shoebox dest list | awk '{print $1}'); do
  shoebox bind --device "$device" --dest "$d" >/dev/null
done

# 6. The `shoebox` command in this shell.
if [[ $(id -u) == 0 && ( ! -e /usr/local/bin/shoebox || $(readlink -f /usr/local/bin/shoebox) == "$bin/cli/shoebox" ) ]]; then
  ln -sf "$bin/cli/shoebox" /usr/local/bin/shoebox
  on_path="shoebox"
else
  on_path="$bin/cli/shoebox"
fi

# Once, on the first run only: the recovery kit (docs/recovery.md).
kit_note() {
  [[ -e "$state/.recovery-kit-shown" ]] && return 0
  cat <<TXT

IMPORTANT (shown once): run
  $on_path key export
and keep the recovery kit it prints somewhere safe, away from this machine (on paper or in a
password manager). It holds the master key and says where the daily catalog snapshots go;
with it a lost server can be rebuilt (shoebox recover, docs/recovery.md). Without it nobody,
you included, can read the backups.
TXT
  : >"$state/.recovery-kit-shown"
}

if [[ $wait_first == 0 ]]; then kit_note; sb_log "started; watch with: $on_path status"; exit 0; fi

# 7. Progress until the first backup is delivered.
sb_log "backing up $src -> $dest (Ctrl-C stops waiting; the services keep running)"
python3 - "$bin/cli/shoebox" "$bin/agent/shoebox-agent" "$state" "$device" "$timeout" "$t_start" <<'PY'
import json, subprocess, sys, time
cli, agent, state, device, timeout, t0 = sys.argv[1:7]
timeout, t0 = int(timeout), int(t0)
tty = sys.stderr.isatty()
stable = 0
last_line = 0
while True:
    try:
        st = json.loads(subprocess.run([cli, "status", "--json"], capture_output=True, text=True, timeout=30).stdout)
        ag = json.loads(subprocess.run([agent, "status", "--json", "--state-dir", state + "/agent"],
                                       capture_output=True, text=True, timeout=30).stdout or "{}")
    except Exception as e:  # coordinator busy or restarting: try again
        time.sleep(1); continue
    dev = next((d for d in st["devices"] if d["name"] == device), None)
    dests = st["destinations"]
    a_files = ag.get("files_pending", 0); a_bytes = ag.get("bytes_pending", 0)
    scanned = ag.get("initial_scan_done", ag.get("scan_complete", True))
    rate = ag.get("rate_bps", ag.get("upload_rate_bps", 0))
    open_ = sum(d["pending_files"] + d["in_flight_files"] + d["failed_files"] for d in dests)
    done = sum(d["delivered_files"] for d in dests)
    dead = sum(d["dead_files"] for d in dests)
    awaiting = dev["files_awaiting_chunks"] if dev else 0
    files = dev["files"] if dev else 0
    line = (f"read+upload: {a_files} files / {a_bytes/1e6:.1f} MB left at {rate/1e6:.1f} MB/s | "
            f"catalog: {files} files | deliveries: {done} done, {open_} open, {dead} dead")
    if tty:
        sys.stderr.write("\r" + line[:160].ljust(160)); sys.stderr.flush()
    elif time.time() - last_line > 10:
        print(line, file=sys.stderr); last_line = time.time()
    idle = scanned and a_files == 0 and awaiting == 0 and open_ == 0 and dev is not None
    stable = stable + 1 if idle else 0
    if stable >= 3:
        break
    if timeout and time.time() - t0 > timeout:
        print("\nquickstart: still working after the timeout; the services keep going (shoebox status)", file=sys.stderr)
        sys.exit(3)
    time.sleep(1)
if tty: sys.stderr.write("\n")
secs = max(1, int(time.time()) - t0)
print(f"\nEverything in the source is backed up and delivered ({secs} s):")
print(f"  files in the catalog for {device}: {dev['files']} ({dev['bytes']/1e6:.1f} MB)")
print(f"  duplicates stored once: {st['duplicate_files']} files")
print(f"  chunk store: {st['chunks_stored']} chunks, {st['stored_bytes']/1e6:.1f} MB stored")
for d in st["destinations"]:
    print(f"  destination {d['name']} ({d['kind']}): {d['delivered_files']} files delivered, {d['dead_files']} failed for good"
          + (f"  !! {d['health']}" if d['health'] else ""))
PY
cat <<TXT

Shoebox keeps running in the background: new photos in $src flow to $dest.
  $on_path status                          what is pending and delivered
  $on_path versions $device PATH           the versions of a file
  $on_path restore --device $device --to DIR   restore everything (add --path, --at TIME)
  $here/deploy/quickstart.sh --stop        stop all services
  $here/deploy/quickstart.sh $src $dest    start them again (picks up only what changed)
Logs: $state/logs.  Keep a copy of $state/master.key somewhere safe (not on this disk):
without it nobody, you included, can read the backups.
TXT
kit_note
