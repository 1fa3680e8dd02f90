#!/usr/bin/env python3
"""deploy/quickstart_wait.py against scripted `shoebox status --json` and
`shoebox-agent status --json` answers (fake executables that replay JSON
files, one per call, the last repeated): the progress line has totals,
percentage and ETA per destination; a destination that cannot progress is
left out of it and named at the end with the command to look (exit 4); a
finished backup ends with exit 0; a timeout with exit 3.
  tests/e2e/quickstart_wait_test.py
"""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
WAIT = os.path.join(HERE, "..", "..", "deploy", "quickstart_wait.py")

FAKE = """#!/usr/bin/env python3
import os, sys
d = os.environ["FAKE_DIR"] + "/" + sys.argv[0].rsplit("/", 1)[1]
n = int(open(d + ".n").read()) if os.path.exists(d + ".n") else 0
files = sorted(f for f in os.listdir(d) if f.endswith(".json"))
sys.stdout.write(open(os.path.join(d, files[min(n, len(files) - 1)])).read())
open(d + ".n", "w").write(str(n + 1))
"""


def counts(**kw):
    c = {k: 0 for k in ("pending_files", "pending_bytes", "in_flight_files", "in_flight_bytes",
                        "delivered_files", "delivered_bytes", "failed_files", "failed_bytes",
                        "dead_files", "dead_bytes")}
    c.update(kw)
    return c


def dest(name, health="", workers=2, **kw):
    d = counts(**kw)
    d.update(name=name, kind="local", health=health, workers_serving=workers,
             oldest_pending_reason="", oldest_pending_unix_ms=0, last_verified_unix_ms=0)
    return d


def status(dests, awaiting=0, problems=()):
    dev = counts()
    dev.update(name="box", files=4, bytes=4_000_000, files_awaiting_chunks=awaiting)
    return {"devices": [dev], "destinations": dests, "chunks_stored": 4, "chunk_bytes": 4_000_000,
            "stored_bytes": 4_000_100, "duplicate_files": 0, "problems": list(problems)}


def agent(state, done, left, eta=-1):
    return {"pid": os.getpid(), "state": state, "files_done": done, "files_pending": left,
            "bytes_done": done * 1_000_000, "bytes_pending": left * 1_000_000,
            "progress_rate_bps": 1_000_000, "eta_seconds": eta}


class QuickstartWait(unittest.TestCase):
    def run_wait(self, statuses, agents, timeout=0, bound=("local",)):
        tmp = tempfile.mkdtemp(prefix="qs-wait-")
        os.makedirs(os.path.join(tmp, "run"))
        with open(os.path.join(tmp, "run", "agent.pid"), "w") as f:
            f.write(str(os.getpid()))  # alive for as long as the test
        for exe, answers in (("shoebox", statuses), ("shoebox-agent", agents)):
            os.makedirs(os.path.join(tmp, exe))
            for i, a in enumerate(answers):
                with open(os.path.join(tmp, exe, f"{i:03d}.json"), "w") as f:
                    json.dump(a, f)
            with open(os.path.join(tmp, "bin-" + exe), "w") as f:
                f.write(FAKE)
            os.chmod(os.path.join(tmp, "bin-" + exe), 0o755)
            os.rename(os.path.join(tmp, "bin-" + exe), os.path.join(tmp, "run", exe))
        env = dict(os.environ, FAKE_DIR=tmp, SHOEBOX_QS_PRINT_EVERY="0", SHOEBOX_QS_POLL="0.05")
        return subprocess.run(
            [sys.executable, WAIT, "--cli", os.path.join(tmp, "run", "shoebox"),
             "--agent", os.path.join(tmp, "run", "shoebox-agent"), "--state", tmp,
             "--device", "box", "--timeout", str(timeout), "--sb", "SHOEBOX_STATE=/s shoebox",
             *bound], capture_output=True, text=True, timeout=60, env=env)

    def test_progress_has_totals_percentage_and_eta_per_destination(self):
        s0 = status([dest("local", pending_files=2, pending_bytes=2_000_000)])
        s1 = status([dest("local", delivered_files=1, delivered_bytes=1_000_000,
                          pending_files=1, pending_bytes=1_000_000)])
        r = self.run_wait([s0, s1], [agent("uploading", 2, 2, eta=7)], timeout=1)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("upload 50%: 2/4 files, 2.0 MB/4.0 MB at 1.0 MB/s, ETA 7s", r.stderr)
        # This run's total: 1 delivered + 1 pending + 2 still to upload.
        self.assertRegex(r.stderr, r"local 25%: 1/4 files, 1\.0 MB/4\.0 MB, ETA \d+s")
        self.assertIn("SHOEBOX_STATE=/s shoebox status --watch 5", r.stderr)

    def test_everything_delivered_exits_0(self):
        s0 = status([dest("local", pending_files=4, pending_bytes=4_000_000)])
        s1 = status([dest("local", delivered_files=4, delivered_bytes=4_000_000)])
        r = self.run_wait([s0, s1], [agent("idle", 4, 0, eta=0)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Everything in the source is backed up and delivered", r.stdout)
        self.assertIn("destination local (local): 4 files delivered", r.stdout)

    def test_refused_destination_is_named_not_waited_for(self):
        msg = ("destination 's3': authentication failed since T: 403; its deliveries are held: "
               "correct its credentials, then shoebox retry --dest s3")
        s = status([dest("local", delivered_files=4, delivered_bytes=4_000_000),
                    dest("s3", health="authentication failed since T: 403",
                         pending_files=4, pending_bytes=4_000_000)],
                   problems=[{"kind": "destination_auth_failed", "device": "",
                              "destination": "s3", "message": msg}])
        r = self.run_wait([s], [agent("idle", 4, 0)], bound=("local", "s3"))
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("s3: cannot progress (credentials refused)", r.stderr)
        self.assertNotRegex(r.stderr, r"s3 \d+%")
        self.assertIn("NOT DELIVERED to s3 (credentials refused; 4 waiting, "
                      "see: SHOEBOX_STATE=/s shoebox jobs --dest s3): " + msg, r.stdout)
        self.assertIn("destination local (local): 4 files delivered", r.stdout)

    def test_only_dead_deliveries_left_ends_the_wait(self):
        s = status([dest("local", delivered_files=3, delivered_bytes=3_000_000, dead_files=1)])
        r = self.run_wait([s], [agent("idle", 4, 0)])
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("NOT DELIVERED to local (1 deliveries dead", r.stdout)

    def test_missing_watched_folder_stops_the_wait(self):
        msg = "device 'box': watched folder /p: is missing (No such file or directory); ..."
        s = status([dest("local")], problems=[{"kind": "folder_unavailable", "device": "box",
                                               "destination": "", "message": msg}])
        r = self.run_wait([s], [agent("idle", 0, 0)])
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("NOT BACKED UP: " + msg, r.stdout)

    def test_agent_still_scanning_keeps_waiting(self):
        s = status([dest("local")])
        r = self.run_wait([s], [agent("scanning", 0, 3)], timeout=1)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("upload: scanning, 3 files found", r.stderr)


if __name__ == "__main__":
    unittest.main()
