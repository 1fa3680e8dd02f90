#!/usr/bin/env bash
# Shoebox in one command: back up SOURCE_DIR and deliver every file to DEST_DIR.
#
#   deploy/quickstart.sh SOURCE_DIR DEST_DIR [options]   set up (first run) / start, back up, deliver
#   deploy/quickstart.sh --stop  [--state DIR]           stop every service it started
#   deploy/quickstart.sh --status [--state DIR]          what is running, and `shoebox status`
#
# Options:
#   --state DIR        state directory: PostgreSQL cluster, master key, chunk store,
#                      configs, logs (default $SHOEBOX_STATE, else /var/lib/shoebox-quickstart
#                      as root, ~/.local/state/shoebox as anyone else)
#   --device NAME      device name (default: this host's name)
#   --s3 URL           also deliver to an S3 bucket: s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=R
#                      with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment
#   --no-wait          start everything but do not wait for the first backup
#   --timeout SECS     give up waiting after SECS (default: wait until nothing more can be
#                      delivered)
#
# Exit: 0 everything delivered; 3 still working at --timeout; 4 some files
# cannot be delivered now (the reason and the command to look are printed).
# It installs missing Debian packages, builds the binaries (build/release), and
# never writes outside the state directory and DEST_DIR (plus a `shoebox`
# symlink in /usr/local/bin when run as root and nothing else is there).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SB_NAME=quickstart
# shellcheck source=deploy/lib.sh
source "$here/deploy/lib.sh"

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# Services keep the caller's umask (a worker creates files at DEST_DIR);
# everything this script creates in the state directory is the owner's alone.
user_umask=$(umask)
umask 077

# Root's state lives outside /root: PostgreSQL runs as `postgres`, which
# cannot enter /root (0700). It is not /var/lib/shoebox either, which a
# service install (systemd StateDirectory=) would take over and chown.
if [[ $(id -u) == 0 ]]; then default_state=/var/lib/shoebox-quickstart
else default_state="$HOME/.local/state/shoebox"; fi
state="${SHOEBOX_STATE:-$default_state}"
device="$(hostname -s 2>/dev/null || hostname)"
mode=run; src=""; dest=""; s3url=""; wait_first=1; timeout=0
while (($#)); do
  case "$1" in
    --stop) mode=stop ;;
    --status) mode=status ;;
    --state) state="${2:?--state needs a directory}"; shift ;;
    --device) device="${2:?--device needs a name}"; shift ;;
    --s3) s3url="${2:?--s3 needs a URL}"; shift ;;
    --no-wait) wait_first=0 ;;
    --timeout) timeout="${2:?--timeout needs seconds}"; shift ;;
    -h|--help) usage ;;
    -*) sb_die "unknown option '$1' (see --help)" ;;
    *) if [[ -z $src ]]; then src="$1"; elif [[ -z $dest ]]; then dest="$1"; else usage; fi ;;
  esac
  shift
done
[[ $timeout =~ ^[0-9]+$ ]] || sb_die "--timeout '$timeout': expected whole seconds"
bin="$here/build/release"
state="$(realpath -m "$state")"

# How to run `shoebox` from the caller's shell, as printed in every hint: the
# CLI finds the default state by itself (docs/cli.md); any other state is
# named on the command line, so that each hint works as printed.
sb_cli_hint() {
  local cmd="$bin/cli/shoebox"
  if [[ $(id -u) == 0 && $(readlink -f /usr/local/bin/shoebox 2>/dev/null) == "$bin/cli/shoebox" ]]; then
    cmd=shoebox
  fi
  if [[ $state == "$(realpath -m "$default_state")" ]]; then echo "$cmd"
  else echo "SHOEBOX_STATE=$(printf '%q' "$state") $cmd"; fi
}
qs_hint() {
  local q="$here/deploy/quickstart.sh"
  if [[ $state == "$(realpath -m "$default_state")" ]]; then echo "$q"
  else echo "$q --state $(printf '%q' "$state")"; fi
}

stop_all() {
  sb_log "stopping services in $state"
  sb_stop "$state/run/web.pid" 30
  sb_stop "$state/run/agent.pid" 30
  sb_stop "$state/run/worker-1.pid" 120
  sb_stop "$state/run/worker-2.pid" 120
  sb_stop "$state/run/coordinator.pid" 30
  sb_pg_stop "$state/pg"
  sb_log "stopped; run the quickstart again to start everything again"
}

if [[ $mode != run ]]; then
  [[ -f $state/ports.env ]] || sb_die "nothing is set up in $state (run the quickstart with SOURCE_DIR DEST_DIR first, or pass --state DIR)"
  export SHOEBOX_STATE="$state"
  if [[ $mode == stop ]]; then stop_all; exit 0; fi
  for p in coordinator worker-1 worker-2 agent web; do
    if [[ -f "$state/run/$p.pid" ]] && kill -0 "$(cat "$state/run/$p.pid")" 2>/dev/null; then
      echo "$p: running (pid $(cat "$state/run/$p.pid"))"; else echo "$p: stopped"; fi
  done
  exec "$bin/cli/shoebox" status
fi

[[ -n $src && -n $dest ]] || usage
[[ -d $src ]] || sb_die "source folder '$src' does not exist or is not a directory"
src="$(cd "$src" && pwd)"
(umask "$user_umask" && mkdir -p "$dest") || sb_die "cannot create destination '$dest'"
dest="$(cd "$dest" && pwd)"
case "$dest/" in "$src/"*) sb_die "destination $dest is inside the source $src: pick a folder outside it" ;; esac
case "$src/" in "$dest/"*) sb_die "source $src is inside the destination $dest: pick a folder outside it" ;; esac
case "$state/" in "$src/"*) sb_die "state directory $state is inside the source $src: use --state" ;; esac

t_start=$(date +%s)

# 1. Packages.
"$here/deploy/install-deps.sh"

# 2. The state directory. As root, PostgreSQL runs as `postgres`: every
# directory above the state must let it pass, and the state itself lets
# only the group postgres through (0710, root:postgres), not read. Checked
# before anything is created or built, so a refused directory costs nothing.
if [[ $(id -u) == 0 ]]; then
  p=""
  IFS=/ read -ra parts <<<"${state#/}"
  for part in "${parts[@]:0:${#parts[@]}-1}"; do
    p="$p/$part"
    [[ -d $p ]] || break
    runuser -u postgres -- test -x "$p" 2>/dev/null \
      || sb_die "PostgreSQL runs as user postgres, which cannot enter $p (mode $(stat -c %a "$p")), so it cannot reach $state/pg; use a state directory outside $p, e.g. the default: drop --state (and unset SHOEBOX_STATE) to use $default_state"
  done
fi
(umask 022 && mkdir -p "$(dirname "$state")")  # like any parent directory: others may pass
mkdir -p "$state"
mkdir -p "$state/run" "$state/logs" "$state/chunks" "$state/agent"
chmod 700 "$state/run" "$state/logs" "$state/chunks" "$state/agent"
if [[ $(id -u) == 0 ]]; then
  chown root:postgres "$state"; chmod 710 "$state"
else
  chmod 700 "$state"
fi
export SHOEBOX_STATE="$state"

# 3. Build (only what changed; a no-op when up to date).
sb_build "$here" "$state/build.log" shoebox-coordinator shoebox-worker shoebox-agent shoebox

# 4. Ports and keys (first run), configuration files (rewritten each run
# from the flags; edit the flags, not the files).
if [[ ! -f "$state/ports.env" ]]; then
  cport=7443; (exec 3<>/dev/tcp/127.0.0.1/7443) 2>/dev/null && cport=$(sb_free_port)
  { echo "pg_port=$(sb_free_port)"; echo "coordinator_port=$cport"; echo "metrics_port=$(sb_free_port)"; } >"$state/ports.env.tmp"
  mv "$state/ports.env.tmp" "$state/ports.env"
fi
# shellcheck disable=SC1091
source "$state/ports.env"
caddr="127.0.0.1:$coordinator_port"
if [[ ! -f "$state/pool.key" ]]; then
  "$bin/cli/shoebox" pool-key --private "$state/pool.key.tmp" --public "$state/pool.pub.tmp" >/dev/null
  mv "$state/pool.pub.tmp" "$state/pool.pub"; mv "$state/pool.key.tmp" "$state/pool.key"
fi

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

# 5. Services.
sb_log "starting PostgreSQL (private cluster in $state/pg, port $pg_port)"
sb_pg_start "$state/pg" "$pg_port"
sb_log "starting coordinator on $caddr"
sb_start coordinator "$state/logs/coordinator.log" "$state/run/coordinator.pid" \
  "$bin/coordinator/shoebox-coordinator" --config "$state/coordinator.toml"
sb_wait_port 127.0.0.1 "$coordinator_port" 60 || sb_die "coordinator did not start, see $state/logs/coordinator.log"
# The CLI's config only once a coordinator answers behind it: a run that
# failed earlier leaves no cli.toml pointing at nothing.
cat >"$state/cli.toml" <<TOML
coordinator = "$caddr"
tls_dir = "$state/tls"
pool_public_key = "$state/pool.pub"
TOML
shoebox() { "$bin/cli/shoebox" "$@"; }

# Enroll the workers and this device once (a one-time token each; the
# identities stay in the state directory, keys 0600).
for w in 1 2; do
  if [[ ! -f "$state/worker-$w-tls/client.crt" ]]; then
    # The token goes through a pipe, never onto a command line (ps).
    shoebox enroll-token --worker "$device-worker-$w" 2>/dev/null \
      | "$bin/workers/shoebox-worker" --config "$state/worker-$w.toml" enroll --token - >/dev/null \
      || sb_die "worker $w could not enroll (see $state/logs/coordinator.log)"
  fi
  # Workers write at DEST_DIR: with the caller's umask, not this script's.
  sb_start "worker-$w" "$state/logs/worker-$w.log" "$state/run/worker-$w.pid" \
    sh -c 'umask "$0"; exec "$@"' "$user_umask" "$bin/workers/shoebox-worker" --config "$state/worker-$w.toml"
done
if [[ ! -f "$state/agent/tls/client.crt" ]]; then
  shoebox enroll-token --device "$device" 2>/dev/null \
    | "$bin/agent/shoebox-agent" --config "$state/agent.toml" enroll --token - >/dev/null \
    || sb_die "device '$device' could not enroll (see $state/logs/coordinator.log)"
fi

# 6. Destinations: the quickstart adds one per DEST_DIR (and per --s3 URL)
# once, and records it in $state/quickstart.dests ("NAME<TAB>TARGET"); a
# later run finds it there and adds nothing.
dest_names() { shoebox status --json | python3 -c 'import json,sys; print("\n".join(d["name"] for d in json.load(sys.stdin)["destinations"]))'; }
recorded_dest() {  # recorded_dest TARGET: the name recorded for it, or nothing
  [[ -f "$state/quickstart.dests" ]] || return 0
  awk -F'\t' -v t="$1" '$2 == t {print $1; exit}' "$state/quickstart.dests"
}
free_dest_name() {  # free_dest_name BASE: BASE, or BASE-2, BASE-3, ... not taken yet
  local base=$1 n=1 name=$1 names
  names="$(dest_names)"
  while grep -qxF -- "$name" <<<"$names"; do n=$((n + 1)); name="$base-$n"; done
  echo "$name"
}
our_dests=()
d_local="$(recorded_dest "$dest")"
if [[ -z $d_local ]]; then
  # A state set up by an earlier quickstart (before this record existed)
  # already has `local` for this folder: adopt it rather than add a second
  # destination writing into the same folder.
  if [[ ! -f "$state/quickstart.dests" ]] && dest_names | grep -qx local \
     && shoebox dest list 2>/dev/null | grep '^local ' | grep -qF "\"root\":\"$dest\""; then
    d_local=local
    printf '%s\t%s\n' "$device" local >>"$state/quickstart.bindings"
  else
    d_local="$(free_dest_name local)"
    [[ $d_local == local ]] || sb_log "NOTE: a destination 'local' exists already (shoebox dest list); adding $dest as '$d_local'"
    shoebox dest add "$d_local" --kind local --set "root=$dest" >/dev/null
  fi
  printf '%s\t%s\n' "$d_local" "$dest" >>"$state/quickstart.dests"
fi
our_dests+=("$d_local")
if [[ -n $s3url ]]; then
  d_s3="$(recorded_dest "$s3url")"
  if [[ -z $d_s3 ]]; then
    [[ -n ${AWS_ACCESS_KEY_ID:-} && -n ${AWS_SECRET_ACCESS_KEY:-} ]] \
      || sb_die "--s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
    mapfile -t s3args < <(python3 - "$s3url" <<'PY'
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
if p.scheme != "s3" or not p.netloc:
    sys.exit("quickstart: ERROR: --s3: expected s3://BUCKET[/PREFIX]?endpoint=URL&region=R")
q = dict(u.parse_qsl(p.query))
print(f"--set\nbucket={p.netloc}")
if p.path.strip("/"): print(f"--set\nprefix={p.path.strip('/')}")
for k in ("endpoint", "region", "style"):
    if k in q: print(f"--set\n{k}={q[k]}")
PY
    )
    ((${#s3args[@]})) || exit 1
    d_s3="$(free_dest_name s3)"
    shoebox dest add "$d_s3" --kind s3 "${s3args[@]}" \
      --secret "access_key_id=$AWS_ACCESS_KEY_ID" --secret "secret_access_key=$AWS_SECRET_ACCESS_KEY" >/dev/null
    printf '%s\t%s\n' "$d_s3" "$s3url" >>"$state/quickstart.dests"
  fi
  our_dests+=("$d_s3")
fi

sb_log "starting agent for device '$device' watching $src"
sb_start agent "$state/logs/agent.log" "$state/run/agent.pid" \
  "$bin/agent/shoebox-agent" --config "$state/agent.toml" run --no-progress
# The device exists once the agent said hello.
for i in $(seq 1 150); do
  shoebox devices 2>/dev/null | grep -q "^$device " && break
  kill -0 "$(cat "$state/run/agent.pid")" 2>/dev/null || sb_die "the agent stopped, see $state/logs/agent.log"
  sleep 0.2
done
# Bind each pair (device, destination) once, on its first setup; recorded
# in $state/quickstart.bindings. A re-run changes no binding: what the admin
# bound or unbound since stays as it is.
for d in "${our_dests[@]}"; do
  if ! grep -qxF "$(printf '%s\t%s' "$device" "$d")" "$state/quickstart.bindings" 2>/dev/null; then
    shoebox bind --device "$device" --dest "$d" >/dev/null
    printf '%s\t%s\n' "$device" "$d" >>"$state/quickstart.bindings"
  fi
done

# 6b. The web dashboard (docs/web.md): `shoebox web serve` on loopback with
# the coordinator's certificate; an account "admin" made on the first run,
# its password shown once (web_note).
if ! grep -q '^web_port=' "$state/ports.env"; then
  wport=8443; (exec 3<>/dev/tcp/127.0.0.1/8443) 2>/dev/null && wport=$(sb_free_port)
  echo "web_port=$wport" >>"$state/ports.env"
fi
# shellcheck disable=SC1091
source "$state/ports.env"
sb_start web "$state/logs/web.log" "$state/run/web.pid" \
  "$bin/cli/shoebox" web serve --listen "127.0.0.1:$web_port"
web_pw=""
if [[ ! -e "$state/.web-admin" ]]; then
  web_pw=$(shoebox web user add admin --admin | sed -n 's/^password (shown once.*): //p') \
    || sb_die "could not create the web account admin (see $state/logs/coordinator.log)"
  : >"$state/.web-admin"
fi
sb_wait_port 127.0.0.1 "$web_port" 30 || sb_log "WARNING: the web dashboard did not start, see $state/logs/web.log"

# 7. The `shoebox` command in this shell.
if [[ $(id -u) == 0 && ( ! -e /usr/local/bin/shoebox || $(readlink -f /usr/local/bin/shoebox) == "$bin/cli/shoebox" ) ]]; then
  ln -sf "$bin/cli/shoebox" /usr/local/bin/shoebox
fi
sb="$(sb_cli_hint)"; qs="$(qs_hint)"

# Once, on the first run only: the recovery kit (docs/recovery.md).
kit_note() {
  [[ -e "$state/.recovery-kit-shown" ]] && return 0
  cat <<TXT

IMPORTANT (shown once): run
  $sb key export
and keep the recovery kit it prints somewhere safe, away from this machine (on paper or in a
password manager). It holds the master key and says where the daily catalog snapshots go;
with it a lost server can be rebuilt (shoebox recover, docs/recovery.md). Without it nobody,
you included, can read the backups.
TXT
  : >"$state/.recovery-kit-shown"
}
# Once, on the first run only: the dashboard's admin password.
web_note() {
  [[ -n $web_pw ]] || return 0
  cat <<TXT

Web dashboard: https://127.0.0.1:$web_port/  log in as "admin" with the password
  $web_pw
(shown once; change it there, or set a new one with: $sb web user passwd admin). The
certificate is issued by the coordinator's own CA ($state/tls/ca.crt): import it into the
browser, or accept it once.
TXT
}
hints() {
  local s d
  s="$(printf '%q' "$src")"; d="$(printf '%q' "$dest")"
  cat <<TXT

Shoebox keeps running in the background: new photos in $s flow to $d.
  $sb status                          what is pending and delivered, and what needs you
  $sb versions $device PATH           the versions of a file
  $sb restore --device $device --to DIR   restore everything (add --path, --at TIME)
  $qs --stop        stop all services
  $qs $s $d    start them again (picks up only what changed)
TXT
  if [[ $sb == SHOEBOX_STATE=* ]]; then
    echo "  (or once in this shell: export SHOEBOX_STATE=$(printf '%q' "$state"); then plain '${sb#* }' works)"
  fi
  echo "  https://127.0.0.1:$web_port/         the web dashboard (docs/web.md)"
  echo "Logs: $state/logs."
}

if [[ $wait_first == 0 ]]; then hints; web_note; kit_note; exit 0; fi

# 8. Progress until nothing more can be delivered (deploy/quickstart_wait.py).
sb_log "backing up $src -> $dest (Ctrl-C stops waiting; the services keep running)"
rc=0
python3 "$here/deploy/quickstart_wait.py" --cli "$bin/cli/shoebox" --agent "$bin/agent/shoebox-agent" \
  --state "$state" --device "$device" --timeout "$timeout" --start "$t_start" --sb "$sb" \
  "${our_dests[@]}" || rc=$?
hints
web_note
kit_note
exit $rc
