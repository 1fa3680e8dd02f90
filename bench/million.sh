#!/usr/bin/env bash
# A million files (issue 23), side by side with restic on the same tree:
#   1. first backup of N small files: `shoebox-agent run --once` (scan, hash,
#      send, ReportFiles; a real coordinator with mutual TLS and PostgreSQL)
#      against `restic backup` (fresh repository), wall, CPU, peak RSS;
#   2. unchanged rescan: the same two commands again;
#   3. restore of the folder a/ (the first --restore-files files) into an
#      empty directory: `shoebox restore --path a/` against
#      `restic restore --include`;
#   4. the coordinator alone (shoebox_coordinator_bench): ReportFiles ingest
#      of N new files and a queue of --jobs jobs drained by 1, 2 and 4
#      leasing threads.
# Prints one table and writes WORK/million.json. Not a test: no thresholds.
#   bench/million.sh [--build DIR] [--files 1000000] [--restore-files 100000]
#                    [--jobs 1000000] [--work DIR] [--skip-queue]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$here/build/release"
files=1000000 restore_files=100000 jobs=1000000 work_base=/tmp skip_queue=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) bin=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --restore-files) restore_files=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --work) work_base=$2; shift 2 ;;
    --skip-queue) skip_queue=1; shift ;;
    *) echo "million.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $restore_files -le $files ]] || { echo "million.sh: --restore-files exceeds --files" >&2; exit 2; }
command -v restic >/dev/null || { echo "million.sh: restic is not installed (apt-get install restic)" >&2; exit 1; }
SB_NAME=million
source "$here/deploy/lib.sh"
source "$here/tests/e2e/drive_stack.sh"
kind=local
cmake --build "$bin" -j"${SHOEBOX_JOBS:-2}" --target shoebox-agent shoebox-coordinator \
  shoebox-worker shoebox shoebox_coordinator_bench >/dev/null

work="$(mktemp -d "$work_base/shoebox-million.XXXXXX")"
chmod 755 "$work"
trap drive_stack_cleanup EXIT

# --- the tree: a/ holds the restore set, b/ the rest; 1,000 files a folder, 1-4 KiB each ----
sb_log "writing $files files under $work/src"
python3 - "$work/src" "$files" "$restore_files" <<'PY'
import os, sys, random
root, n, na = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(1)
for i in range(n):
    top = "a" if i < na else "b"
    d = os.path.join(root, top, "d%04d" % (i // 1000))
    if i % 1000 == 0 or i == na:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "IMG_%07d.jpg" % i), "wb") as f:
        f.write(rnd.randbytes(1024 + rnd.randrange(3072)))
PY
src_bytes=$(du -sb "$work/src" | cut -f1)

drive_stack_catalog
sb_stop "$work/worker.pid" 20  # nothing to deliver: no destination is bound
drive_stack_device

# timed NAME CMD...: runs CMD under GNU time; appends "NAME wall cpu rss_kb" to $work/times.
timed() {
  local name=$1; shift
  /usr/bin/time -o "$work/time.out" -f "%e %U %S %M" "$@" >>"$work/$name.log" 2>&1 \
    || { tail -n 20 "$work/$name.log"; sb_die "$name failed"; }
  read -r wall user sys rss <"$work/time.out"
  echo "$name $wall $(python3 -c "print(round($user + $sys, 2))") $rss" >>"$work/times"
  sb_log "$name: ${wall}s wall, $(tail -n 1 "$work/times" | cut -d' ' -f3) CPU-s, peak RSS $((rss / 1024)) MB"
}
export RESTIC_PASSWORD=million RESTIC_CACHE_DIR="$work/restic-cache"
restic init --repo "$work/restic" >/dev/null
agent=("$bin/agent/shoebox-agent" --config "$work/agent.toml" run --once --no-progress)
restic_backup=(restic backup --repo "$work/restic" --quiet "$work/src")

timed shoebox_first "${agent[@]}"
timed restic_first "${restic_backup[@]}"
timed shoebox_rescan "${agent[@]}"
timed restic_rescan "${restic_backup[@]}"
timed shoebox_restore "$bin/cli/shoebox" restore --device phone --path a/ --to "$work/restored-shoebox"
timed restic_restore restic restore latest --repo "$work/restic" --target "$work/restored-restic" \
  --include "$work/src/a"
# Both restores are checked, not only timed.
diff -rq "$work/src/a" "$work/restored-shoebox/a" >/dev/null || sb_die "shoebox restore differs from src/a"
diff -rq "$work/src/a" "$work/restored-restic$work/src/a" >/dev/null || sb_die "restic restore differs from src/a"

# --- the coordinator alone ----------------------------------------------------------------------
if [[ $skip_queue == 0 ]]; then
  for t in 1 2 4; do
    sb_log "coordinator bench: $files files, $jobs jobs, $t leasing threads"
    "$bin/bench/shoebox_coordinator_bench" "$files" 5000 "$jobs" "$t" 1 >"$work/coordinator-$t.log" 2>&1 \
      || { tail -n 20 "$work/coordinator-$t.log"; sb_die "coordinator bench failed"; }
  done
fi

python3 - "$work" "$files" "$restore_files" "$jobs" "$src_bytes" "$skip_queue" <<'PY'
import json, os, re, subprocess, sys
work, files, rfiles, jobs, src_bytes, skip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
t = {}
for line in open(os.path.join(work, "times")):
    name, wall, cpu, rss = line.split()
    t[name] = {"wall_s": float(wall), "cpu_s": float(cpu), "peak_rss_mb": round(int(rss) / 1024)}
def ratio(a, b): return round(t[b]["wall_s"] / t[a]["wall_s"], 2) if t[a]["wall_s"] > 0 else None
out = {"files": files, "bytes": src_bytes, "restore_files": rfiles,
       "cpu": subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip(),
       "load_before": open("/proc/loadavg").read().split()[:3], "runs": t,
       "ratios_vs_restic": {"first_backup": ratio("shoebox_first", "restic_first"),
                            "unchanged_rescan": ratio("shoebox_rescan", "restic_rescan"),
                            "restore": ratio("shoebox_restore", "restic_restore")}}
if not skip:
    q = {}
    for th in (1, 2, 4):
        text = open(os.path.join(work, "coordinator-%d.log" % th)).read()
        m = re.search(r"in batches of \d+: [\d.]+ s, ([\d.]+) files/s", text)
        j = re.search(r"([\d.]+) jobs/s", text)
        q[th] = {"report_files_per_s": float(m.group(1)) if m else None, "jobs_per_s": float(j.group(1)) if j else None}
    out["coordinator"] = {"jobs": jobs, "by_threads": q}
json.dump(out, open(os.path.join(work, "million.json"), "w"), indent=1)
print("%d files (%.0f MB) on %s" % (files, src_bytes / 1e6, out["cpu"]))
print("%-18s %10s %10s %10s %10s" % ("", "shoebox s", "restic s", "ratio", "RSS MB"))
for k in ("first", "rescan", "restore"):
    a, b = t["shoebox_" + k], t["restic_" + k]
    print("%-18s %10.2f %10.2f %9.2fx %5d/%d" % (k, a["wall_s"], b["wall_s"], b["wall_s"] / a["wall_s"], a["peak_rss_mb"], b["peak_rss_mb"]))
if not skip:
    for th, v in out["coordinator"]["by_threads"].items():
        print("coordinator, %d thread(s): ReportFiles %s new files/s, queue %s jobs/s" % (th, v["report_files_per_s"], v["jobs_per_s"]))
print("results: %s/million.json" % work)
PY
cp "$work/million.json" "/tmp/million-$(date -u +%Y-%m-%dT%H%MZ).json"
