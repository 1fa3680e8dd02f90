#!/usr/bin/env python3
"""The quickstart's wait: progress until nothing more can be delivered.

Polls `shoebox status --json` and `shoebox-agent status --json` once a second
and shows the upload (agent -> chunk store) and each destination's deliveries
with totals, percentage, rate and ETA. Destinations that cannot progress
(credentials refused, no worker, only dead deliveries, failing without any
delivery for FAILING_S) are left out of the progress and named instead.

Ends when the upload is done (or cannot go on) and every destination is
either finished or cannot progress, and says why:
  exit 0  everything delivered
  exit 3  still working at --timeout
  exit 4  something cannot be delivered now (named, with the command to look)
Run by deploy/quickstart.sh; not meant to be called by hand.
"""
import argparse
import json
import os
import subprocess
import sys
import time

FAILING_S = 30  # failing deliveries and no delivery for this long: cannot progress
STABLE_POLLS = 3  # the end condition must hold this many polls in a row
# Not on a terminal: a progress line this often (tests set it lower).
PRINT_EVERY_S = float(os.environ.get("SHOEBOX_QS_PRINT_EVERY", "10"))
POLL_S = float(os.environ.get("SHOEBOX_QS_POLL", "1"))


def human_bytes(b):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if b < 1000 or unit == "TB":
            return f"{b:.0f} {unit}" if unit == "B" else f"{b:.1f} {unit}"
        b /= 1000


def human_secs(s):
    if s is None or s < 0:
        return "?"
    s = int(s)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def pct(done, total):
    return 100.0 if total <= 0 else min(100.0, 100.0 * done / total)


def alive(pidfile):
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return 0


class Rate:
    """Bytes per second over the last `window` seconds."""

    def __init__(self, window=15):
        self.window, self.samples = window, []

    def add(self, t, v):
        self.samples.append((t, v))
        while len(self.samples) > 2 and t - self.samples[0][0] > self.window:
            self.samples.pop(0)

    def rate(self):
        if len(self.samples) < 2:
            return 0.0
        (t0, v0), (t1, v1) = self.samples[0], self.samples[-1]
        return max(0.0, (v1 - v0) / (t1 - t0)) if t1 > t0 else 0.0


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip() or f"exit {out.returncode}")
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--device", required=True)
    ap.add_argument("--timeout", type=int, default=0)
    ap.add_argument("--start", type=int, default=int(time.time()))
    ap.add_argument("--sb", default="shoebox", help="how the hints run the CLI")
    ap.add_argument("bound", nargs="*", help="destinations the quickstart bound this device to")
    a = ap.parse_args()
    tty = sys.stderr.isatty()
    sb = a.sb

    base = {}  # destination -> delivered files/bytes when the wait began
    last_progress = {}  # destination -> (time its delivered count last grew, that count)
    rates = {}  # destination -> Rate of delivered bytes
    up_rate = Rate()
    stable = 0
    last_line = 0.0
    unreachable_since = None
    while True:
        now = time.time()
        agent_pid = alive(os.path.join(a.state, "run", "agent.pid"))
        if not agent_pid:
            print(f"\nquickstart: the agent stopped; see {a.state}/logs/agent.log", file=sys.stderr)
            return 4
        try:
            st = run_json([a.cli, "status", "--json"])
            ag = run_json([a.agent, "status", "--json", "--state-dir", os.path.join(a.state, "agent")])
            unreachable_since = None
        except Exception as e:  # coordinator busy or restarting: try again
            unreachable_since = unreachable_since or now
            if now - unreachable_since > 60:
                print(f"\nquickstart: no status for 60 s ({e}); see {a.state}/logs", file=sys.stderr)
                return 4
            time.sleep(POLL_S)
            continue
        dev = next((d for d in st["devices"] if d["name"] == a.device), None)
        problems = st.get("problems", [])

        # Upload: agent -> chunk store. The agent's own status, once it is
        # this agent's (the file of a previous run may still be there).
        fresh = ag.get("pid") == agent_pid
        a_state = ag.get("state", "") if fresh else "starting"
        f_done, f_left = ag.get("files_done", 0), ag.get("files_pending", 0)
        b_done, b_left = ag.get("bytes_done", 0), ag.get("bytes_pending", 0)
        up_rate.add(now, b_done)
        awaiting = dev["files_awaiting_chunks"] if dev else 0
        upload_done = fresh and a_state == "idle" and f_left == 0 and awaiting == 0 and dev is not None
        upload_blocked = None
        if fresh and a_state in ("paused", "outside backup window"):
            upload_blocked = f"the agent is {a_state} (shoebox-agent status; shoebox-agent resume)"
        for p in problems:
            if p.get("device") == a.device and p.get("kind") in ("folder_unavailable", "device_revoked"):
                upload_blocked = p["message"]
        eta_up = ag.get("eta_seconds", -1) if fresh else -1
        if a_state in ("scanning", "starting"):
            up = f"upload: {a_state}, {f_done + f_left} files found"
        elif upload_blocked:
            up = "upload: cannot go on (below)"
        elif f_done + f_left == 0:
            up = "upload: nothing new to read"
        else:
            up = (f"upload {pct(b_done, b_done + b_left):.0f}%: {f_done}/{f_done + f_left} files, "
                  f"{human_bytes(b_done)}/{human_bytes(b_done + b_left)} at "
                  f"{human_bytes(ag.get('progress_rate_bps', 0))}/s, ETA {human_secs(eta_up if f_left else 0)}")
        if awaiting and not f_left:
            up += f" ({awaiting} files finishing)"

        # Deliveries, per destination.
        parts, stuck, busy = [], [], False
        for d in st["destinations"]:
            name = d["name"]
            if name not in base:
                base[name] = (d["delivered_files"], d["delivered_bytes"])
                last_progress[name] = (now, d["delivered_files"])
                rates[name] = Rate()
            if d["delivered_files"] > last_progress[name][1]:
                last_progress[name] = (now, d["delivered_files"])
            rates[name].add(now, d["delivered_bytes"])
            open_f = d["pending_files"] + d["in_flight_files"] + d["failed_files"]
            open_b = d["pending_bytes"] + d["in_flight_bytes"] + d["failed_bytes"]
            why = None
            if d["health"]:
                why = "credentials refused"
            elif d["workers_serving"] == 0 and open_f:
                why = "no worker serves it"
            elif d["failed_files"] and now - last_progress[name][0] >= FAILING_S:
                why = f"failing, nothing delivered for {FAILING_S} s"
            elif not open_f and d["dead_files"]:
                why = f"{d['dead_files']} deliveries dead"
            if why:
                msg = next((p["message"] for p in problems if p.get("destination") == name), None)
                if not msg:
                    msg = f"destination '{name}': {why}: {d['oldest_pending_reason'] or '-'}"
                stuck.append((name, why, open_f, msg))
                parts.append(f"{name}: cannot progress ({why})")
                continue
            upcoming_f = upcoming_b = 0
            if name in a.bound and not upload_blocked:
                upcoming_f, upcoming_b = f_left + awaiting, b_left
            done_f = d["delivered_files"] - base[name][0]
            done_b = d["delivered_bytes"] - base[name][1]
            total_f = done_f + open_f + upcoming_f
            total_b = done_b + open_b + upcoming_b
            if open_f or upcoming_f:
                busy = True
            if total_f == 0:
                parts.append(f"{name}: nothing to deliver")
                continue
            r = rates[name].rate()
            left_b = open_b + upcoming_b
            eta = 0 if left_b == 0 else (left_b / r if r > 0 else -1)
            if eta >= 0 and upcoming_f and eta_up >= 0:
                eta = max(eta, eta_up)
            parts.append(f"{name} {pct(done_b, total_b):.0f}%: {done_f}/{total_f} files, "
                         f"{human_bytes(done_b)}/{human_bytes(total_b)}, ETA {human_secs(eta)}")
        line = " | ".join([up] + parts)
        if tty:
            sys.stderr.write("\r" + line[:200].ljust(200))
            sys.stderr.flush()
        elif now - last_line >= PRINT_EVERY_S:
            print(line, file=sys.stderr)
            last_line = now

        finished = (upload_done or upload_blocked) and not busy and dev is not None
        stable = stable + 1 if finished else 0
        if stable >= STABLE_POLLS:
            break
        if a.timeout and now - a.start > a.timeout:
            if tty:
                sys.stderr.write("\n")
            print(f"quickstart: still working after {a.timeout} s: {line}", file=sys.stderr)
            print(f"quickstart: the services keep going; watch with: {sb} status --watch 5",
                  file=sys.stderr)
            return 3
        time.sleep(POLL_S)

    if tty:
        sys.stderr.write("\n")
    secs = max(1, int(time.time()) - a.start)
    mine = [p for p in problems if p.get("device") in ("", a.device)]
    if not stuck and not upload_blocked:
        print(f"\nEverything in the source is backed up and delivered ({secs} s):")
    else:
        print(f"\nDone what can be done now ({secs} s); some files cannot be delivered yet:")
    if dev:
        print(f"  files in the catalog for {a.device}: {dev['files']} ({human_bytes(dev['bytes'])})")
    print(f"  duplicates stored once: {st['duplicate_files']} files")
    print(f"  chunk store: {st['chunks_stored']} chunks, {human_bytes(st['stored_bytes'])} stored")
    stuck_names = {s[0] for s in stuck}
    for d in st["destinations"]:
        if d["name"] in stuck_names:
            continue
        print(f"  destination {d['name']} ({d['kind']}): {d['delivered_files']} files delivered")
    if upload_blocked:
        print(f"  NOT BACKED UP: {upload_blocked}")
    for name, why, open_f, msg in stuck:
        print(f"  NOT DELIVERED to {name} ({why}; {open_f} waiting, "
              f"see: {sb} jobs --dest {name}): {msg}")
    for p in mine:
        if p.get("destination") in stuck_names or p["message"] == upload_blocked:
            continue
        print(f"  needs attention: {p['message']}")
    return 0 if not stuck and not upload_blocked else 4


if __name__ == "__main__":
    sys.exit(main())
