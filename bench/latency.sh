#!/usr/bin/env bash
# New photo to destination (issue 23; docs/performance.md, "New photo to
# destination"): the stack the quickstart starts (private PostgreSQL, a
# coordinator with mutual TLS, 2 workers with concurrency 2, a local
# destination, an agent with settle_seconds = 5 watching a folder), idle.
# Then N times (default 20), one second apart: a new photo (3 MB of random
# bytes, named photo-K.jpg) is written into the watched folder in one
# open/write/close, and the time until it exists at the destination (the
# worker writes a temporary name and renames it) is measured; its bytes are
# compared afterwards. Prints the median, min and max and writes a JSON file.
#
#   bench/latency.sh [--build DIR] [--count N] [--size-kb K] [--label NAME] [--out FILE.json]
#                    [--agent-extra 'key = value']
#
#   --build DIR        build tree with the four binaries (default build/release);
#                      SHOEBOX_AGENT_BIN overrides the agent (e.g. an older build
#                      for a before/after figure).
#   --agent-extra STR  lines added to the agent's [agent] table, e.g.
#                      'close_confirm_ms = 0'.
# Everything runs in a temporary directory, removed at the end (KEEP=1 keeps it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SB_NAME=latency
# shellcheck source=deploy/lib.sh
source "$here/deploy/lib.sh"
build="$here/build/release" count=20 size_kb=3000 label=run out="" agent_extra=""
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --size-kb) size_kb=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --agent-extra) agent_extra=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    *) sb_die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $count =~ ^[0-9]+$ && $count -ge 1 ]] || sb_die "--count must be a whole number >= 1"
COORD="$build/coordinator/shoebox-coordinator"
WORKER="$build/workers/shoebox-worker"
AGENT="${SHOEBOX_AGENT_BIN:-$build/agent/shoebox-agent}"
CLI="$build/cli/shoebox"
for b in "$COORD" "$WORKER" "$AGENT" "$CLI"; do
  [[ -x $b ]] || sb_die "$b is missing: build it (cmake --build $build --target shoebox-coordinator shoebox-worker shoebox-agent shoebox)"
done

work=$(mktemp -d /tmp/shoebox-latency.XXXXXX)
chmod 755 "$work"
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in agent worker-1 worker-2 coordinator; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  if [[ $rc != 0 ]]; then
    for p in "$work"/*.log; do [[ -f $p ]] && { echo "===== $p (tail)"; tail -n 15 "$p"; }; done
  fi
  [[ ${KEEP:-0} == 1 ]] && sb_log "kept $work" || rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_port=$(sb_free_port) c_port=$(sb_free_port)
sb_pg_start "$work/pg" "$pg_port"
mkdir -p "$work/chunks" "$work/dest" "$work/photos"
cat >"$work/coordinator.toml" <<TOML
[coordinator]
listen = "127.0.0.1:$c_port"
key_file = "$work/master.key"
create_key = true
[database]
url = "postgresql://shoebox@127.0.0.1:$pg_port/shoebox"
[chunk_store]
location = "$work/chunks"
TOML
"$CLI" pool-key --private "$work/pool.key" --public "$work/pool.pub" >/dev/null
sb_start coordinator "$work/coordinator.log" "$work/coordinator.pid" "$COORD" --config "$work/coordinator.toml"
sb_wait_port 127.0.0.1 "$c_port" 60 || sb_die "coordinator did not start, see $work/coordinator.log"
cat >"$work/cli.toml" <<TOML
coordinator = "127.0.0.1:$c_port"
tls_dir = "$work/tls"
pool_public_key = "$work/pool.pub"
TOML
sbcli() { SHOEBOX_CLI_CONFIG="$work/cli.toml" "$CLI" "$@"; }
for w in 1 2; do
  sbcli enroll-token --worker "worker-$w" 2>/dev/null \
    | "$WORKER" enroll --coordinator "127.0.0.1:$c_port" --token - --tls-dir "$work/worker-$w-tls" >/dev/null \
    || sb_die "worker-$w could not enroll"
  cat >"$work/worker-$w.toml" <<TOML
[worker]
name = "worker-$w"
coordinator = "127.0.0.1:$c_port"
tls_dir = "$work/worker-$w-tls"
kinds = ["local"]
concurrency = 2
chunk_store = "$work/chunks"
master_key_file = "$work/master.key"
pool_key_file = "$work/pool.key"
TOML
  sb_start "worker-$w" "$work/worker-$w.log" "$work/worker-$w.pid" "$WORKER" --config "$work/worker-$w.toml"
done
sbcli dest add nas --kind local --set "root=$work/dest" >/dev/null
cat >"$work/agent.toml" <<TOML
[coordinator]
address = "127.0.0.1:$c_port"
tls_dir = "$work/agent-tls"
[agent]
device_name = "phone"
state_dir = "$work/agent"
settle_seconds = 5
$agent_extra
[[folder]]
path = "$work/photos"
TOML
sbcli enroll-token --device phone 2>/dev/null \
  | "$AGENT" --config "$work/agent.toml" enroll --token - >/dev/null || sb_die "the agent could not enroll"
sb_start agent "$work/agent.log" "$work/agent.pid" "$AGENT" --config "$work/agent.toml" run --no-progress
for i in $(seq 1 300); do
  sbcli devices 2>/dev/null | grep -q '^phone ' && break
  kill -0 "$(cat "$work/agent.pid")" 2>/dev/null || sb_die "the agent stopped, see $work/agent.log"
  sleep 0.1
done
sbcli bind --device phone --dest nas >/dev/null
sleep 3  # idle: every service past its start
sb_log "$label: $count photos of $size_kb KB, one at a time ($AGENT)"

commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$work/photos" "$work/dest" "$count" "$size_kb" "$label" "${out:-$work/latency.json}" \
  "$commit" "$AGENT" "$build" "$agent_extra" <<'PY'
import glob, json, os, statistics, sys, time
src, dest, count, size_kb, label, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
commit, agent_bin, build, agent_extra = sys.argv[7:11]
started = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())
lat = []
for k in range(count):
    name = f"photo-{k:03d}.jpg"
    data = os.urandom(size_kb * 1000)
    t0 = time.monotonic()
    with open(os.path.join(src, name), "wb") as f:  # one open, write, close
        f.write(data)
    deadline = t0 + 120
    found = None
    while time.monotonic() < deadline:
        hits = glob.glob(os.path.join(dest, "**", name), recursive=True)
        if hits:
            found = hits[0]
            break
        time.sleep(0.005)
    if found is None:
        sys.exit(f"latency: {name} did not reach the destination within 120 s")
    t1 = time.monotonic()
    with open(found, "rb") as f:
        if f.read() != data:
            sys.exit(f"latency: {found} differs from what was written")
    lat.append(t1 - t0)
    print(f"latency: {name}: {t1 - t0:.3f} s", file=sys.stderr)
    time.sleep(1.0)
res = {"schema": "shoebox-bench-result/1", "benchmark": "latency", "label": label, "date_utc": started,
       "commit": commit, "command": "bench/latency.sh", "binaries": {"build": build, "agent": agent_bin},
       "agent_extra": agent_extra, "settle_seconds": 5,
       "cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t"),
       "loadavg": open("/proc/loadavg").read().split()[:3], "count": count, "size_bytes": size_kb * 1000,
       "median_s": round(statistics.median(lat), 3), "min_s": round(min(lat), 3),
       "max_s": round(max(lat), 3), "latencies_s": [round(x, 3) for x in lat]}
json.dump(res, open(out, "w"), indent=2)
print(f"{label}: new photo to destination, median of {count}: {res['median_s']} s "
      f"(min {res['min_s']}, max {res['max_s']})")
PY
