# Shell helpers shared by deploy/quickstart.sh, tests/e2e and bench/compare.sh.
# Source it; every function prefixes its messages with the caller's name.

SB_PGBIN="${SB_PGBIN:-/usr/lib/postgresql/15/bin}"

sb_log() { printf '%s: %s\n' "${SB_NAME:-shoebox}" "$*" >&2; }
sb_die() { sb_log "ERROR: $*"; exit 1; }

# A free TCP port on 127.0.0.1.
sb_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until HOST:PORT accepts connections (default 30 s).
sb_wait_port() {
  local host=$1 port=$2 secs=${3:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# Runs a PostgreSQL command as the cluster owner: root runs it as `postgres`
# (initdb refuses root), anyone else as themselves.
sb_pg_run() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# sb_pg_start DIR PORT: creates (first time) and starts a private cluster in
# DIR listening on 127.0.0.1:PORT with its socket in DIR, database "shoebox".
sb_pg_start() {
  local dir=$1 port=$2
  [[ -x "$SB_PGBIN/initdb" ]] || sb_die "PostgreSQL 15 not found in $SB_PGBIN; run deploy/install-deps.sh"
  if [[ ! -f "$dir/PG_VERSION" ]]; then
    mkdir -p "$dir"
    [[ $(id -u) == 0 ]] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    sb_pg_run "$SB_PGBIN/initdb" -D "$dir" -A trust -U shoebox -E UTF8 >"$dir.initdb.log" 2>&1 \
      || sb_die "initdb failed, see $dir.initdb.log"
  fi
  if sb_pg_run "$SB_PGBIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then return 0; fi
  sb_pg_run "$SB_PGBIN/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on" start >/dev/null \
    || sb_die "PostgreSQL did not start, see $dir/server.log"
  sb_pg_run "$SB_PGBIN/psql" -h 127.0.0.1 -p "$port" -U shoebox -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='shoebox'" | grep -q 1 \
    || sb_pg_run "$SB_PGBIN/createdb" -h 127.0.0.1 -p "$port" -U shoebox shoebox
}

sb_pg_stop() {
  local dir=$1
  [[ -f "$dir/PG_VERSION" ]] || return 0
  sb_pg_run "$SB_PGBIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

# sb_start NAME LOGFILE PIDFILE CMD...: starts CMD in the background (own
# session, survives the calling shell), records its PID.
sb_start() {
  local name=$1 log=$2 pidf=$3; shift 3
  if [[ -f "$pidf" ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
    sb_log "$name already running (pid $(cat "$pidf"))"; return 0
  fi
  setsid "$@" >>"$log" 2>&1 < /dev/null &
  echo $! >"$pidf"
}

# sb_stop PIDFILE [SECS]: SIGTERM, wait, then SIGKILL.
sb_stop() {
  local pidf=$1 secs=${2:-30} pid i
  [[ -f "$pidf" ]] || return 0
  pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidf"
}

# sb_build SRC_DIR LOG TARGET...: builds TARGETs in SRC_DIR/build/release
# (configured first if it never was), one after the other, all output in
# LOG. Shows which target and cmake's percentage: on a terminal one line
# rewritten in place, otherwise a line each 10% or 30 s. A no-op build
# (everything up to date) says so.
sb_build() {
  local src=$1 log=$2; shift 2
  local n=$# k=0 t t0
  t0=$(date +%s)
  : >"$log"
  if [[ ! -f "$src/build/release/CMakeCache.txt" ]]; then
    sb_log "configuring (cmake --preset release; output in $log)"
    (cd "$src" && cmake --preset release) >>"$log" 2>&1 || sb_die "cmake --preset release failed, see $log"
  fi
  sb_log "building $* (only what changed; a first build takes 10-20 minutes on 2 cores)"
  for t in "$@"; do
    k=$((k + 1))
    if ! cmake --build "$src/build/release" -j"$(nproc)" --target "$t" 2>&1 | tee -a "$log" \
         | _sb_build_progress "$t" "$k" "$n" "$t0"; then
      tail -n 20 "$log" >&2
      sb_die "building $t failed (the last lines are above; everything is in $log)"
    fi
  done
  if grep -qE '^\[ *[0-9]+(%|/[0-9]+)\] (Building|Linking)' "$log"; then
    sb_log "build done in $(( $(date +%s) - t0 )) s"
  else
    sb_log "build up to date (nothing to compile)"
  fi
}

# Reads make's output, prints progress (see sb_build) on stderr.
_sb_build_progress() {
  local t=$1 k=$2 n=$3 t0=$4 line pct=-1 shown=-100 last=0 now what
  local tty=0; [[ -t 2 ]] && tty=1
  while IFS= read -r line; do
    if [[ $line =~ ^\[\ *([0-9]+)%\]\ (.*)$ ]]; then  # make: "[ 45%] Building CXX object ..."
      pct=${BASH_REMATCH[1]}; what=${BASH_REMATCH[2]}
    elif [[ $line =~ ^\[([0-9]+)/([0-9]+)\]\ (.*)$ ]]; then  # ninja: "[12/345] Building ..."
      pct=$((BASH_REMATCH[1] * 100 / BASH_REMATCH[2])); what=${BASH_REMATCH[3]}
    else
      continue
    fi
    now=$(date +%s)
    if ((tty)); then
      printf '\r%s: building %s (%d/%d): %3d%% after %ds  %-60.60s' "${SB_NAME:-shoebox}" "$t" "$k" "$n" \
        "$pct" $((now - t0)) "${what##*/}" >&2
    elif ((pct >= shown + 10 || now - last >= 30)); then
      printf '%s: building %s (%d/%d): %d%% after %ds\n' "${SB_NAME:-shoebox}" "$t" "$k" "$n" "$pct" $((now - t0)) >&2
      shown=$pct; last=$now
    fi
  done
  ((tty && pct >= 0)) && printf '\r%-120s\r' "" >&2
  return 0
}
