#!/usr/bin/env python3
"""Helpers for bench/compare.sh.

  cmp.py modify LIB ROUND OUT          change 1% of the files in place, list them in OUT
  cmp.py restore LIB                   undo the changes of `modify` (LIB/.modified.json)
  cmp.py repair LIB                    make src-b/from-laptop an exact copy of its src-a files
  cmp.py evict DIR...                  drop the (written back) page cache of every file under DIRs
  cmp.py wait --cli BIN ...            wait until Shoebox delivered everything (see --help)
  cmp.py report RECORDS META OUT_JSON  medians, table and ratios (stdout) and JSON (OUT_JSON)
"""
import argparse
import json
import os
import random
import select
import shutil
import statistics
import subprocess
import sys
import time


def lib_files(lib):
    out = []
    for dev in ("src-a", "src-b"):
        for root, _dirs, files in os.walk(os.path.join(lib, dev)):
            out.extend(os.path.join(root, f) for f in files)
    return sorted(out)


PENDING = ".modified.json"


def cmd_modify(args):
    """Overwrites 8 bytes near the start of 1% of the files. The original bytes
    are written to LIB/.modified.json first, so `restore` (run after every
    round, and at the start of the next run should this one be killed) puts
    the library back: each round's first backup then reads the same library,
    not one left diverged by the previous round's changes."""
    files = lib_files(args.lib)
    k = max(1, round(len(files) / 100))
    rng = random.Random(args.round * 1009 + 17)
    picked = sorted(rng.sample(files, k))
    pending_path = os.path.join(args.lib, PENDING)
    pending = []
    if os.path.exists(pending_path):
        with open(pending_path) as fh:
            pending = json.load(fh)
    now = time.time()
    for f in picked:
        off = min(32, max(0, os.path.getsize(f) - 8))
        with open(f, "r+b") as fh:
            fh.seek(off)
            orig = fh.read(8)
            pending.append({"path": f, "offset": off, "orig": orig.hex()})
            with open(pending_path + ".tmp", "w") as pf:
                json.dump(pending, pf)
            os.replace(pending_path + ".tmp", pending_path)
            fh.seek(off)
            fh.write(rng.randbytes(8))
        os.utime(f, (now, now))
    with open(args.out, "w") as fh:
        fh.write("\n".join(picked) + "\n")
    print(f"changed {k} of {len(files)} files", file=sys.stderr)


def cmd_restore(args):
    pending_path = os.path.join(args.lib, PENDING)
    if not os.path.exists(pending_path):
        return
    with open(pending_path) as fh:
        pending = json.load(fh)
    for e in reversed(pending):  # the same file may have been changed twice
        with open(e["path"], "r+b") as fh:
            fh.seek(e["offset"])
            fh.write(bytes.fromhex(e["orig"]))
    os.remove(pending_path)
    print(f"restored {len(pending)} changed file(s) in {args.lib}", file=sys.stderr)


def cmd_repair(args):
    """Libraries changed by compare.sh before it restored them have some of
    device B's copies differing from device A's originals; copy them again."""
    base = os.path.join(args.lib, "src-b", "from-laptop")
    n = 0
    for root, _dirs, files in os.walk(base):
        for name in files:
            b = os.path.join(root, name)
            a = os.path.join(args.lib, "src-a", os.path.relpath(b, base))
            if os.path.exists(a) and not same_file(a, b):
                shutil.copyfile(a, b)
                n += 1
    if n:
        print(f"repaired {n} shared file(s) in {base} that differed from device A's", file=sys.stderr)


def cmd_evict(args):
    """A round writes ~10 GB (destinations, repositories, rclone's copies) to
    the page cache. Left there, the next rounds run with the cache full and the
    kernel reclaiming it while they write: round 2 was the slow one for every
    tool. After `sync`, the round's pages are clean and DONTNEED drops them;
    the library's own pages stay cached."""
    n = 0
    for top in args.dirs:
        for root, _dirs, files in os.walk(top):
            for name in files:
                try:
                    fd = os.open(os.path.join(root, name), os.O_RDONLY | os.O_NOFOLLOW)
                except OSError:
                    continue
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    n += 1
                finally:
                    os.close(fd)
    print(f"dropped the page cache of {n} files", file=sys.stderr)


def same_file(a, b):
    try:
        if os.path.getsize(a) != os.path.getsize(b):
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                x, y = fa.read(1 << 20), fb.read(1 << 20)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False


def cmd_wait(args):
    """Polls `shoebox status --json` until every delivery is done: nothing
    pending, in flight or failed, no version awaiting chunks, at least
    --want-delivered files delivered, and every file of --cmp-list identical
    at the destination. Prints the Unix time it was first seen done."""
    pairs = []
    if args.cmp_list:
        for line in open(args.cmp_list):
            src = line.strip()
            if not src:
                continue
            rel = os.path.relpath(src, args.lib)          # src-a/...
            dev = "device-" + rel.split("/", 1)[0][len("src-"):]
            pairs.append((src, os.path.join(args.dest, dev, rel)))
    deadline = time.time() + args.timeout
    last = None
    idle_since = None
    # One `shoebox status --watch` for the whole wait: a new CLI process per
    # poll (start-up plus a TLS handshake) took ~0.1 CPU-s per second of
    # waiting away from the deliveries being timed.
    watcher = None
    try:
        while True:
            if watcher is None or watcher.poll() is not None:
                watcher = subprocess.Popen([args.cli, "status", "--json", "--watch", str(args.interval)],
                                           stdout=subprocess.PIPE, text=True)
            ready, _, _ = select.select([watcher.stdout], [], [], 60)
            line = watcher.stdout.readline() if ready else ""
            now = time.time()
            try:
                st = json.loads(line)
            except Exception as e:  # the watcher died or stalled: start another
                state = f"status failed: {e}"
                if state != last:
                    print(f"{now:.3f} {state}", file=sys.stderr)
                last = state
                st = None
                watcher.kill()
                watcher.wait()
                time.sleep(args.interval)
            rc = _wait_step(args, st, now, pairs, deadline, last, idle_since)
            if isinstance(rc, int):
                return rc
            last, idle_since = rc
    finally:
        if watcher is not None and watcher.poll() is None:
            watcher.kill()
            watcher.wait()


def _wait_step(args, st, now, pairs, deadline, last, idle_since):
    """One status reading of cmd_wait: an exit code when done (or failed),
    else the new (last state, idle since)."""
    if st is not None:
        d = st["destinations"]
        delivered = sum(x["delivered_files"] for x in d)
        open_ = sum(x["pending_files"] + x["in_flight_files"] + x["failed_files"] for x in d)
        dead = sum(x["dead_files"] for x in d)
        awaiting = sum(x.get("files_awaiting_chunks", 0) for x in st["devices"])
        state = f"delivered {delivered}, open {open_}, dead {dead}, awaiting chunks {awaiting}"
        if state != last:
            print(f"{now:.3f} {state}", file=sys.stderr)
        last = state
        if dead:
            print(f"compare: {dead} deliveries are dead ({last}); see `shoebox jobs --state dead`", file=sys.stderr)
            return 2
        if delivered >= args.want_delivered and open_ == 0 and awaiting == 0 \
                and all(same_file(a, b) for a, b in pairs):
            if args.status_out:
                with open(args.status_out, "w") as fh:
                    json.dump(st, fh)
            print(f"{now:.3f}")
            return 0
        # Nothing open and nothing awaiting chunks, yet not all delivered:
        # some complete versions have no delivery job.
        if open_ == 0 and awaiting == 0:
            idle_since = idle_since or now
            if now - idle_since > args.stall_seconds:
                print(f"compare: nothing pending for {args.stall_seconds} s but not everything delivered "
                      f"({last}, want {args.want_delivered} delivered and the changed files identical): "
                      f"complete versions without a delivery job", file=sys.stderr)
                return 3
        else:
            idle_since = None
    if now > deadline:
        print(f"compare: deliveries not done after {args.timeout} s: {last}", file=sys.stderr)
        return 1
    return last, idle_since


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_s(x):
    return "-" if x is None else (f"{x:.1f} s" if x >= 10 else f"{x:.2f} s")


def fmt_mb(b):
    return "-" if b is None else f"{b / 1e6:.1f} MB"


def fmt_kb(kb):
    return "-" if kb is None else f"{kb / 1024:.0f} MiB"


def ratio(a, b):
    return None if not a or not b else a / b


def fmt_r(x):
    return "-" if x is None else f"{x:.2f}x"


SYNC_CALLS = ("fsync", "fdatasync", "sync_file_range", "syncfs", "sync", "msync")


def parse_strace_c(path):
    """Totals of an `strace -c` summary: calls and errors per system call."""
    calls = {}
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return calls
    for line in text.splitlines():
        f = line.split()
        # "% time  seconds  usecs/call  calls  [errors]  syscall"
        if len(f) < 5 or f[-1] in ("total", "syscall") or not f[3].isdigit():
            continue
        calls[f[-1]] = calls.get(f[-1], 0) + int(f[3])
    return calls


def cmd_strace_sum(args):
    """One JSON object of counts per component from strace -c files NAME=FILE[,FILE...]."""
    out = {}
    for spec in args.specs:
        name, files = spec.split("=", 1)
        tot = {}
        for f in files.split(","):
            for k, v in parse_strace_c(f).items():
                tot[k] = tot.get(k, 0) + v
        out[name] = {"syscalls": sum(tot.values()),
                     "fsync": tot.get("fsync", 0), "fdatasync": tot.get("fdatasync", 0),
                     "other_sync": sum(tot.get(k, 0) for k in SYNC_CALLS if k not in ("fsync", "fdatasync")),
                     "top": dict(sorted(tot.items(), key=lambda kv: -kv[1])[:8])}
    print(json.dumps(out))


def cmd_report(args):
    recs = [json.loads(l) for l in open(args.records) if l.strip()]
    meta = json.load(open(args.meta))
    phases = ["first", "unchanged", "changed"]
    tools = [t for t in ["shoebox", "shoebox_alone", "restic", "borg", "rclone"] if any(r["tool"] == t for r in recs)]
    med = {}
    for t in tools:
        med[t] = {}
        for ph in phases:
            rs = [r for r in recs if r["tool"] == t and r["phase"] == ph]
            if not rs:
                continue
            m = {"runs": len(rs), "wall_s": median([r["wall_s"] for r in rs])}
            if t.startswith("shoebox"):
                m["ingest_s"] = median([r.get("ingest_s") for r in rs])
            mem = {}
            for r in rs:
                for k in r.get("mem_kb", {}):
                    mem.setdefault(k, []).append(r["mem_kb"][k])
            m["mem_kb"] = {k: median(v) for k, v in mem.items()}
            st = {}
            for r in rs:
                for k in r.get("stored", {}):
                    st.setdefault(k, []).append(r["stored"][k])
            m["stored"] = {k: median(v) for k, v in st.items()}
            cpu = {}
            for r in rs:
                for k in r.get("cpu_s", {}):
                    cpu.setdefault(k, []).append(r["cpu_s"][k])
            m["cpu_s"] = {k: median(v) for k, v in cpu.items()}
            med[t][ph] = m
    # restic backup followed by rclone copy: the same two copies as Shoebox.
    if "restic" in med and "rclone" in med:
        med["restic+rclone"] = {}
        for ph in phases:
            rs = {}
            for r in recs:
                if r["phase"] == ph and r["tool"] in ("restic", "rclone"):
                    rs.setdefault(r["round"], {})[r["tool"]] = r
            sums = [v["restic"]["wall_s"] + v["rclone"]["wall_s"] for v in rs.values() if len(v) == 2]
            if sums:
                med["restic+rclone"][ph] = {"runs": len(sums), "wall_s": median(sums)}

    def w(t, ph, key="wall_s"):
        return med.get(t, {}).get(ph, {}).get(key)

    lines = []
    lib = meta["library"]
    lines.append(f"Library: {lib['files']} files, {fmt_mb(lib['bytes'])} (device A {lib['files_a']} files, "
                 f"device B {lib['files_b']} files, {lib['shared_files']} shared); "
                 f"{meta['runs']} run(s), medians; {meta['date']}")
    lines.append("")
    hdr = ["", "first backup", "unchanged re-run", "1% changed", "peak memory (first)", "CPU-seconds (first)", "stored"]
    rows = []

    def stored_str(t):
        s = med[t].get("first", {}).get("stored", {})
        if t == "shoebox":
            return (f"chunks {fmt_mb(s.get('chunk_store'))} + catalog {fmt_mb(s.get('catalog_db'))}"
                    f"; dest {fmt_mb(s.get('dest'))}")
        return fmt_mb(s.get("repo", s.get("dest")))

    def cpu_str(t):
        c = med[t].get("first", {}).get("cpu_s", {})
        if not c:
            return ""
        if len(c) == 1:
            return f"{sum(c.values()):.1f}"
        return f"{sum(c.values()):.1f} (" + ", ".join(f"{k} {v:.1f}" for k, v in c.items()) + ")"

    def mem_str(t):
        m = med[t].get("first", {}).get("mem_kb", {})
        return ", ".join(f"{k} {fmt_kb(v)}" for k, v in sorted(m.items()))

    if "shoebox" in med:
        rows.append(["Shoebox end to end (2 copies)", fmt_s(w("shoebox", "first")), fmt_s(w("shoebox", "unchanged")),
                     fmt_s(w("shoebox", "changed")), mem_str("shoebox"), cpu_str("shoebox"), stored_str("shoebox")])
        rows.append(["Shoebox ingest while delivering (agents done)", fmt_s(w("shoebox", "first", "ingest_s")),
                     fmt_s(w("shoebox", "unchanged", "ingest_s")), fmt_s(w("shoebox", "changed", "ingest_s")), "", "", ""])
    if "shoebox_alone" in med:
        rows.append(["Shoebox ingest alone (workers stopped until the agents are done)",
                     fmt_s(w("shoebox_alone", "first", "ingest_s")), "", "", "", "", ""])
        rows.append(["Shoebox ingest, then deliveries (one after the other)", fmt_s(w("shoebox_alone", "first")),
                     "", "", "", "", ""])
    names = {"restic": "restic backup", "borg": "borg create", "rclone": "rclone copy"}
    for t in ("restic", "borg", "rclone"):
        if t in med:
            rows.append([names[t], fmt_s(w(t, "first")), fmt_s(w(t, "unchanged")), fmt_s(w(t, "changed")),
                         mem_str(t), cpu_str(t), stored_str(t)])
    if "restic+rclone" in med:
        rows.append(["restic backup + rclone copy (2 copies)", fmt_s(w("restic+rclone", "first")),
                     fmt_s(w("restic+rclone", "unchanged")), fmt_s(w("restic+rclone", "changed")), "", "", ""])
    lines.append("| " + " | ".join(hdr) + " |")
    lines.append("|" + "---|" * len(hdr))
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")

    ratios = {}
    if "shoebox" in med:
        def add(name, goal, val, better_if):
            ratios[name] = {"value": val, "goal": goal,
                            "met": None if val is None or goal is None else (val >= goal if better_if == "ge" else val <= goal)}
        if "restic+rclone" in med:
            add("end_to_end_vs_restic_plus_rclone", 1.5, ratio(w("restic+rclone", "first"), w("shoebox", "first")), "ge")
            add("changed_end_to_end_vs_restic_plus_rclone", None,
                ratio(w("restic+rclone", "changed"), w("shoebox", "changed")), "ge")
        if "restic" in med:
            add("ingest_vs_restic", 1.5, ratio(w("restic", "first"), w("shoebox", "first", "ingest_s")), "ge")
            if "shoebox_alone" in med:
                add("ingest_alone_vs_restic", 1.5,
                    ratio(w("restic", "first"), w("shoebox_alone", "first", "ingest_s")), "ge")
            add("unchanged_vs_restic", 5.0, ratio(w("restic", "unchanged"), w("shoebox", "unchanged", "ingest_s")), "ge")
            add("unchanged_end_to_end_vs_restic", None, ratio(w("restic", "unchanged"), w("shoebox", "unchanged")), "ge")
            add("changed_ingest_vs_restic", None, ratio(w("restic", "changed"), w("shoebox", "changed", "ingest_s")), "ge")
            sb_st = med["shoebox"]["first"]["stored"].get("chunk_store")
            rs_st = med["restic"]["first"]["stored"].get("repo")
            add("stored_bytes_vs_restic", 1.0, ratio(sb_st, rs_st), "le")
            if sb_st and rs_st:
                ratios["stored_bytes_vs_restic"]["detail"] = f"{sb_st / 1e6:.2f} vs {rs_st / 1e6:.2f} MB"
            cat = med["shoebox"]["first"]["stored"].get("catalog_db")
            add("stored_bytes_with_catalog_vs_restic", None,
                ratio((sb_st or 0) + (cat or 0), rs_st) if sb_st else None, "le")
        # The same ratios round by round: the tools of one round run minutes
        # apart, the rounds up to ten; the machine's speed can drift between
        # them (seen: one run's later rounds ~8% faster for every tool).
        rounds = sorted({r["round"] for r in recs if r["phase"] != "count"})

        def rw(rnd, t, ph, key="wall_s"):
            if t == "restic+rclone":
                a, b = rw(rnd, "restic", ph), rw(rnd, "rclone", ph)
                return None if a is None or b is None else a + b
            for r in recs:
                if r["round"] == rnd and r["tool"] == t and r["phase"] == ph:
                    return r.get(key)
            return None

        per_round = {
            "end_to_end_vs_restic_plus_rclone": (("restic+rclone", "first", "wall_s"), ("shoebox", "first", "wall_s")),
            "ingest_alone_vs_restic": (("restic", "first", "wall_s"), ("shoebox_alone", "first", "ingest_s")),
            "ingest_vs_restic": (("restic", "first", "wall_s"), ("shoebox", "first", "ingest_s")),
            "unchanged_vs_restic": (("restic", "unchanged", "wall_s"), ("shoebox", "unchanged", "ingest_s")),
        }
        for key, (num, den) in per_round.items():
            if key in ratios and len(rounds) > 1:
                ratios[key]["per_round"] = [ratio(rw(n, *num), rw(n, *den)) for n in rounds]
        for t in ("restic", "borg", "rclone"):
            if t not in med:
                continue
            for ph in ("first", "unchanged", "changed"):
                ratios[f"{t}_{ph}_over_shoebox_end_to_end"] = {"value": ratio(w(t, ph), w("shoebox", ph))}
                ratios[f"{t}_{ph}_over_shoebox_ingest"] = {"value": ratio(w(t, ph), w("shoebox", ph, "ingest_s"))}
        for r in ratios.values():
            if r.get("goal") is None:
                r.pop("goal", None)
                r.pop("met", None)

        lines.append("")
        lines.append("Shoebox against the issue's goals (peer time / Shoebox time; stored: Shoebox / restic):")
        lines.append("")
        lines.append("| comparison | measured | goal | met |")
        lines.append("|---|---|---|---|")
        labels = [
            ("end_to_end_vs_restic_plus_rclone", "end to end, first backup: restic+rclone / Shoebox", ">= 1.5x"),
            ("ingest_alone_vs_restic", "ingest alone (no delivery running): restic backup / Shoebox agents", ">= 1.5x"),
            ("ingest_vs_restic", "ingest while delivering: restic backup / Shoebox agents", ">= 1.5x"),
            ("unchanged_vs_restic", "unchanged re-run: restic backup / Shoebox agents", ">= 5x"),
            ("unchanged_end_to_end_vs_restic", "unchanged re-run: restic backup / Shoebox incl. one status check", "-"),
            ("changed_end_to_end_vs_restic_plus_rclone", "1% changed, end to end: restic+rclone / Shoebox", "-"),
            ("changed_ingest_vs_restic", "1% changed, ingest: restic / Shoebox agents", "-"),
            ("stored_bytes_vs_restic", "stored bytes: Shoebox chunk store / restic repository", "<= 1.0x"),
            ("stored_bytes_with_catalog_vs_restic", "stored bytes incl. catalog DB / restic repository", "-"),
        ]
        for key, label, goal in labels:
            if key in ratios:
                r = ratios[key]
                met = r.get("met")
                val = fmt_r(r['value']) if "stored" not in key or r['value'] is None else f"{r['value']:.4f}x"
                if r.get("detail"):
                    val += f" ({r['detail']})"
                if r.get("per_round"):
                    val += " (rounds " + ", ".join(fmt_r(x) for x in r["per_round"]) + ")"
                lines.append(f"| {label} | {val} | {goal} | "
                             f"{'-' if met is None else ('yes' if met else 'NO')} |")
        lines.append("")
        lines.append("Each peer against Shoebox (peer time / Shoebox time; > 1 means Shoebox is faster):")
        lines.append("")
        lines.append("| peer | first vs end to end | first vs ingest | unchanged vs end to end | unchanged vs ingest"
                     " | 1% changed vs end to end | 1% changed vs ingest |")
        lines.append("|---|---|---|---|---|---|---|")
        for t in ("restic", "borg", "rclone"):
            if t in med:
                g = lambda ph, k: fmt_r(ratios[f"{t}_{ph}_over_shoebox_{k}"]["value"])
                lines.append(f"| {names[t]} | {g('first', 'end_to_end')} | {g('first', 'ingest')} | "
                             f"{g('unchanged', 'end_to_end')} | {g('unchanged', 'ingest')} | {g('changed', 'end_to_end')} | {g('changed', 'ingest')} |")
    per_gb = per_gb_table(recs, med, meta, lines)
    text = "\n".join(lines)
    print(text)
    out = dict(meta)
    out["per_gb"] = per_gb
    out["records"] = recs
    out["medians"] = med
    out["ratios"] = ratios
    out["table_markdown"] = text
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=2)


def per_gb_table(recs, med, meta, lines):
    """CPU-seconds per GB of the first backup (median of the timed rounds) and
    system calls / fsyncs per GB from the separate strace pass (phase
    "count"), per tool; appended to `lines`, returned for the JSON."""
    gb = meta["library"]["bytes"] / 1e9
    counts = {r["tool"]: r.get("syscalls", {}) for r in recs if r["phase"] == "count"}
    rows = {}
    for t in ("shoebox", "shoebox_alone", "restic", "borg", "rclone"):
        cpu = med.get(t, {}).get("first", {}).get("cpu_s", {})
        wall = med.get(t, {}).get("first", {}).get("wall_s")
        sc = counts.get(t, {})
        if not cpu and not sc:
            continue
        row = {"wall_s_per_gb": None if wall is None else wall / gb,
               "cpu_s_per_gb": sum(cpu.values()) / gb if cpu else None,
               "cpu_s_per_gb_by_part": {k: v / gb for k, v in cpu.items()}}
        if sc:
            row["syscalls_per_gb"] = sum(c["syscalls"] for c in sc.values()) / gb
            row["fsync_per_gb"] = sum(c["fsync"] + c["fdatasync"] for c in sc.values()) / gb
            row["other_sync_per_gb"] = sum(c["other_sync"] for c in sc.values()) / gb
            row["syscalls_by_part"] = sc
        rows[t] = row
    if not rows:
        return rows
    f = lambda x, d=1: "" if x is None else f"{x:,.{d}f}"
    lines.append("")
    lines.append(f"Per GB of library ({gb:.3f} GB), first backup: wall and CPU-seconds from the timed rounds;"
                 " system calls and fsync + fdatasync from a separate untimed pass under `strace -f -c`:")
    lines.append("")
    lines.append("| tool | wall s/GB | CPU-s/GB | CPU-s/GB by part | syscalls/GB | fsync+fdatasync/GB | by part (calls, syncs) |")
    lines.append("|---|---|---|---|---|---|---|")
    for t, r in rows.items():
        parts = ", ".join(f"{k} {v:.2f}" for k, v in r["cpu_s_per_gb_by_part"].items()) \
            if len(r["cpu_s_per_gb_by_part"]) > 1 else ""
        sparts = ", ".join(f"{k} {c['syscalls'] / gb:,.0f}/{(c['fsync'] + c['fdatasync']) / gb:,.0f}"
                           for k, c in r.get("syscalls_by_part", {}).items()) \
            if len(r.get("syscalls_by_part", {})) > 1 else ""
        lines.append(f"| {t} | {f(r['wall_s_per_gb'], 2)} | {f(r['cpu_s_per_gb'], 2)} | {parts} | "
                     f"{f(r.get('syscalls_per_gb'), 0)} | {f(r.get('fsync_per_gb'), 0)} | {sparts} |")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("modify")
    m.add_argument("lib")
    m.add_argument("round", type=int)
    m.add_argument("out")
    for name in ("restore", "repair"):
        sub.add_parser(name).add_argument("lib")
    sub.add_parser("evict").add_argument("dirs", nargs="+")
    wt = sub.add_parser("wait")
    wt.add_argument("--cli", required=True)
    wt.add_argument("--want-delivered", type=int, default=0)
    wt.add_argument("--cmp-list")
    wt.add_argument("--lib")
    wt.add_argument("--dest")
    wt.add_argument("--timeout", type=float, default=3600)
    wt.add_argument("--interval", type=float, default=0.2)
    wt.add_argument("--status-out")
    wt.add_argument("--stall-seconds", type=float, default=30)
    ss = sub.add_parser("strace-sum")
    ss.add_argument("specs", nargs="+")
    rp = sub.add_parser("report")
    rp.add_argument("records")
    rp.add_argument("meta")
    rp.add_argument("out")
    args = ap.parse_args()
    return {"modify": cmd_modify, "restore": cmd_restore, "repair": cmd_repair, "evict": cmd_evict, "wait": cmd_wait, "report": cmd_report,
            "strace-sum": cmd_strace_sum}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
