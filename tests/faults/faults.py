#!/usr/bin/env python3
"""Fault injection against the real Shoebox processes (docs/reliability.md).

Starts a private PostgreSQL, a coordinator, two workers and one agent on
loopback (mutual TLS, enrolled with tokens as in tests/e2e), a local and an
s3rver destination, feeds photos into the agent's folder while it injects a
scenario's faults, then waits for the system to settle and asserts what a
user cares about:
  - every file fed in is at every destination exactly once (no extra or
    renamed copy, no leftover temporary file), byte-identical;
  - nothing is left in the queue (pending, in flight, failed or dead);
  - `shoebox status` counts every delivery, reports no problem, and
    `shoebox-agent status` says the agent is connected with nothing pending.
Prints one result line per scenario (faults, files, lost, duplicates,
recovery time) and appends it as JSON to $FAULTS_RESULTS when set.

  faults.py BUILD_DIR SCENARIO [--kills N] [--seed S] [--keep]

Scenarios: kill9 (random kill -9 of agent, coordinator, workers; restarts
like systemd), handshake (kill -9 of the coordinator again and again, also
within a second of its restart, i.e. during the agent's handshakes: issue
18), postgres (stopped for a minute, then killed with kill -9),
coordinator_down (down for minutes while files arrive; the agent offline
while its folder changes), store_full (the chunk store on a full tmpfs, then
space freed; root only, else exit 77), dest_full (the same for the local
destination), partition (the workers' connections to the coordinator
dropped for up to a minute, several times: a TCP forwarder killed and
restarted), bitflip (a flipped bit in a stored
chunk and a deleted copy at a destination: shoebox verify repairs both),
clock (the wall clocks of the coordinator, the workers and the agent jump
forward and back, each its own, through the LD_PRELOAD shim faketime.c; then
all four step back 5 minutes at once and the photos of that moment must
arrive within 90 s).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
SKIP = 77


def log(msg):
    print(f"faults: {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


class Fail(Exception):
    pass


def sh_lib(cmd):
    """Runs a deploy/lib.sh function (PostgreSQL helpers, free ports)."""
    return subprocess.run(["bash", "-c", f"source {SRC}/deploy/lib.sh; {cmd}"], check=True,
                          capture_output=True, text=True).stdout.strip()


class Stack:
    def __init__(self, build, work, rng):
        self.bin = build
        self.work = work
        self.rng = rng
        self.procs = {}
        self.cmds = {}
        self.pg = os.path.join(work, "pg")
        self.pg_port = int(sh_lib("sb_free_port"))
        self.c_port = int(sh_lib("sb_free_port"))
        self.s3_port = int(sh_lib("sb_free_port"))
        self.caddr = f"127.0.0.1:{self.c_port}"
        self.src = os.path.join(work, "photos")
        self.dest = os.path.join(work, "dest-local")
        self.chunks = os.path.join(work, "chunks")
        self.env = dict(os.environ, SHOEBOX_CLI_CONFIG=os.path.join(work, "cli.toml"))
        self.env["PATH"] = f"{SRC}/build/tools/node_modules/.bin:/work/main/build/tools/node_modules/.bin:" + self.env["PATH"]
        self.s3 = shutil.which("s3rver", path=self.env["PATH"]) is not None
        # Processes whose wall clock the scenario `clock` shifts (faketime.c
        # preloaded, one offset file each) and their current offsets.
        self.faketime = set()
        self.offsets = {}
        self.dests = ["nas"] + (["bucket"] if self.s3 else [])

    # --- processes ------------------------------------------------------------
    def start(self, name):
        if name in self.procs and self.procs[name].poll() is None:
            return
        logf = open(os.path.join(self.work, f"{name}.log"), "ab")
        self.procs[name] = subprocess.Popen(self.cmds[name], stdout=logf, stderr=logf,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            env=self.env_of(name))

    def env_of(self, name):
        """The environment of a process: its own clock under the shim."""
        if name not in self.faketime:
            return self.env
        return dict(self.env, LD_PRELOAD=os.path.join(self.bin, "faketime.so"),
                    SHOEBOX_FAKETIME_FILE=os.path.join(self.work, f"clock-{name}"))

    def set_clock(self, name, offset_s):
        """Moves the wall clock of `name` to real time + offset_s (seen by the
        process within 50 ms; absl::Now() within about 2 s)."""
        path = os.path.join(self.work, f"clock-{name}")
        with open(path + ".tmp", "w") as f:
            f.write(f"{offset_s}\n")
        os.rename(path + ".tmp", path)
        self.offsets[name] = offset_s

    def kill9(self, name):
        p = self.procs.get(name)
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def alive(self, name):
        p = self.procs.get(name)
        return p is not None and p.poll() is None

    def stop_all(self):
        for name, p in self.procs.items():
            if p.poll() is None:
                p.terminate()
        for name, p in self.procs.items():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        sh_lib(f"sb_pg_stop {self.pg}")

    def wait_port(self, port, secs=60):
        subprocess.run(["bash", "-c", f"source {SRC}/deploy/lib.sh; sb_wait_port 127.0.0.1 {port} {secs}"],
                       check=True)

    def sb(self, *args, check=True, timeout=120):
        r = subprocess.run([f"{self.bin}/cli/shoebox", *args], env=self.env, capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise Fail(f"shoebox {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
        return r

    # --- setup ----------------------------------------------------------------
    def setup(self, chunk_store=None, dest_root=None, workers_via_proxy=False):
        w = self.work
        os.makedirs(self.src)
        if dest_root:
            self.dest = dest_root
        os.makedirs(self.dest, exist_ok=True)
        if chunk_store:
            self.chunks = chunk_store
        os.makedirs(self.chunks, exist_ok=True)
        sh_lib(f"sb_pg_start {self.pg} {self.pg_port}")
        with open(f"{w}/coordinator.toml", "w") as f:
            f.write(f'[coordinator]\nlisten = "{self.caddr}"\nkey_file = "{w}/master.key"\n'
                    f'[database]\nurl = "postgresql://shoebox@127.0.0.1:{self.pg_port}/shoebox"\n'
                    f'[chunk_store]\nlocation = "{self.chunks}"\n')
        subprocess.run([f"{self.bin}/cli/shoebox", "pool-key", "--private", f"{w}/pool.key",
                        "--public", f"{w}/pool.pub"], check=True, capture_output=True)
        self.cmds["coordinator"] = [f"{self.bin}/coordinator/shoebox-coordinator", "--config",
                                    f"{w}/coordinator.toml"]
        self.start("coordinator")
        self.wait_port(self.c_port)
        with open(f"{w}/cli.toml", "w") as f:
            f.write(f'coordinator = "{self.caddr}"\ntls_dir = "{w}/tls"\npool_public_key = "{w}/pool.pub"\n')
        # The workers reach the coordinator through a TCP forwarder that the
        # partition scenario kills (every connection dropped) and restarts.
        waddr = self.caddr
        if workers_via_proxy:
            self.proxy_port = int(sh_lib("sb_free_port"))
            self.cmds["proxy"] = [sys.executable, os.path.join(HERE, "tcp_proxy.py"),
                                  str(self.proxy_port), str(self.c_port)]
            self.start("proxy")
            self.wait_port(self.proxy_port)
            waddr = f"127.0.0.1:{self.proxy_port}"
        for i in (1, 2):
            tok = self.sb("enroll-token", "--worker", f"worker-{i}").stdout.strip()
            subprocess.run([f"{self.bin}/workers/shoebox-worker", "enroll", "--coordinator", self.caddr,
                            "--token", tok, "--tls-dir", f"{w}/worker-{i}-tls"], check=True,
                           capture_output=True)
            with open(f"{w}/worker-{i}.toml", "w") as f:
                f.write(f'[worker]\nname = "worker-{i}"\ncoordinator = "{waddr}"\n'
                        f'tls_dir = "{w}/worker-{i}-tls"\nkinds = ["local", "s3"]\nconcurrency = 2\n'
                        f'chunk_store = "{self.chunks}"\nmaster_key_file = "{w}/master.key"\n'
                        f'pool_key_file = "{w}/pool.key"\n')
            self.cmds[f"worker-{i}"] = [f"{self.bin}/workers/shoebox-worker", "--config",
                                        f"{w}/worker-{i}.toml"]
            self.start(f"worker-{i}")
        self.sb("dest", "add", "nas", "--kind", "local", "--set", f"root={self.dest}")
        if self.s3:
            os.makedirs(f"{w}/s3rver")
            self.cmds["s3rver"] = ["s3rver", "--directory", f"{w}/s3rver", "--port", str(self.s3_port),
                                   "--address", "127.0.0.1", "--configure-bucket", "photos", "--silent"]
            self.start("s3rver")
            self.wait_port(self.s3_port)
            self.sb("dest", "add", "bucket", "--kind", "s3", "--set", f"endpoint=http://127.0.0.1:{self.s3_port}",
                    "--set", "bucket=photos", "--set", "region=us-east-1", "--secret", "access_key_id=S3RVER",
                    "--secret", "secret_access_key=S3RVER")
        with open(f"{w}/agent.toml", "w") as f:
            f.write(f'[coordinator]\naddress = "{self.caddr}"\n[agent]\ndevice_name = "dev"\n'
                    f'state_dir = "{w}/agent"\nsettle_seconds = 1\nrpc_timeout_seconds = 20\n'
                    f'[[folder]]\npath = "{self.src}"\nall_files = true\n')
        tok = self.sb("enroll-token", "--device", "dev", "--ttl", "1h").stdout.strip()
        subprocess.run([f"{self.bin}/agent/shoebox-agent", "--config", f"{w}/agent.toml", "enroll",
                        "--token", "-"], input=tok + "\n", text=True, check=True, capture_output=True)
        self.cmds["agent"] = [f"{self.bin}/agent/shoebox-agent", "--config", f"{w}/agent.toml", "run",
                              "--no-progress"]
        self.start("agent")
        for _ in range(100):
            if "dev" in self.sb("devices", check=False).stdout:
                break
            time.sleep(0.2)
        for d in self.dests:
            self.sb("bind", "--device", "dev", "--dest", d)

    def agent_status(self):
        # On the agent's machine, i.e. with the agent's clock.
        r = subprocess.run([f"{self.bin}/agent/shoebox-agent", "--config", f"{self.work}/agent.toml",
                            "status", "--json"], capture_output=True, text=True, env=self.env_of("agent"))
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {}

    def status(self):
        r = self.sb("status", "--json", check=False, timeout=30)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)


class Feeder:
    """Writes photos into the watched folder (each written elsewhere and
    renamed in, as a camera import or sync tool does), keeps their SHA-free
    contents on disk for the comparison at the end."""

    def __init__(self, stack, rng, rate):
        self.stack = stack
        self.rng = rng
        self.rate = rate  # files per second
        self.count = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = None
        self.staging = os.path.join(stack.work, "staging")
        os.makedirs(self.staging)

    def one(self):
        with self.lock:
            n = self.count
            self.count += 1
        sub = os.path.join(self.stack.src, f"{2020 + n % 5}", f"roll-{n // 40:03d}")
        os.makedirs(sub, exist_ok=True)
        # Mostly photo-sized, some multi-chunk (several MB) so that kills
        # land in the middle of uploads and deliveries.
        size = self.rng.choice([20_000, 150_000, 400_000, 900_000, 2_500_000])
        if self.rng.random() < 0.05:
            size = 6_000_000
        size += self.rng.randrange(4096)
        tmp = os.path.join(self.staging, f"{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(os.urandom(size))
        dst = os.path.join(sub, f"IMG_{n:05d}.jpg")
        os.rename(tmp, dst)
        return os.path.relpath(dst, self.stack.src)

    def run(self):
        while not self.stop.is_set():
            self.one()
            self.stop.wait(self.rng.expovariate(self.rate))

    def __enter__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        self.thread.join()


def restart_after(stack, name, rng, lo=0.5, hi=5.0):
    """Restarted like systemd's Restart=on-failure would (RestartSec scaled
    down to keep the run short)."""
    time.sleep(rng.uniform(lo, hi))
    stack.start(name)


# --- scenarios ---------------------------------------------------------------------
def scen_kill9(stack, rng, args, victims=("agent", "coordinator", "worker-1", "worker-2")):
    faults = []
    with Feeder(stack, rng, rate=1.0 if args.long else 2.0):
        for k in range(args.kills):
            time.sleep(rng.uniform(1.0, 6.0))
            v = rng.choice(victims)
            stack.kill9(v)
            faults.append(f"kill -9 {v}")
            if v == "coordinator" and rng.random() < 0.4:
                # Again within a second of the restart: the agent, workers
                # and CLI are in the middle of their TLS handshakes.
                stack.start(v)
                time.sleep(rng.uniform(0.05, 1.0))
                stack.kill9(v)
                faults.append("kill -9 coordinator (during handshakes)")
            restart_after(stack, v, rng)
            if (k + 1) % 10 == 0:
                log(f"{k + 1}/{args.kills} kills, {len(faults)} faults, feeding")
    return faults


def scen_handshake(stack, rng, args):
    return scen_kill9(stack, rng, args, victims=("coordinator",))


def scen_postgres(stack, rng, args):
    faults = []
    with Feeder(stack, rng, rate=2.0):
        time.sleep(5)
        sh_lib(f"sb_pg_run {os.environ.get('SB_PGBIN', '/usr/lib/postgresql/15/bin')}/pg_ctl -D {stack.pg} -m fast -w stop")
        faults.append("PostgreSQL stopped for 60 s")
        time.sleep(60)
        sh_lib(f"sb_pg_start {stack.pg} {stack.pg_port}")
        time.sleep(10)
        pid = open(os.path.join(stack.pg, "postmaster.pid")).readline().strip()
        os.kill(int(pid), signal.SIGKILL)
        faults.append("PostgreSQL postmaster kill -9")
        time.sleep(3)
        # Its backends linger until they notice; the start waits for the old
        # shared memory to go.
        for _ in range(30):
            try:
                sh_lib(f"sb_pg_start {stack.pg} {stack.pg_port}")
                break
            except subprocess.CalledProcessError:
                time.sleep(1)
        time.sleep(10)
    return faults


def scen_coordinator_down(stack, rng, args):
    faults = []
    down = 180 if args.long else 60
    with Feeder(stack, rng, rate=2.0):
        time.sleep(5)
        stack.kill9("coordinator")
        faults.append(f"coordinator down for {down} s while files arrive")
        time.sleep(down)
        stack.start("coordinator")
        time.sleep(10)
        stack.procs["agent"].terminate()
        stack.procs["agent"].wait()
        faults.append("agent stopped while its folder changes for 30 s")
        time.sleep(30)
        stack.start("agent")
        time.sleep(5)
    return faults


def scen_store_full(stack, rng, args):
    # The chunk store is a 64 MB tmpfs: the upload stops with "no space",
    # nothing acknowledged is lost; space is then made by growing it.
    faults = []
    with Feeder(stack, rng, rate=4.0):
        deadline = time.time() + 240
        while time.time() < deadline:
            st = os.statvfs(stack.chunks)
            if st.f_bavail * st.f_frsize < 2_000_000:
                break
            time.sleep(1)
        else:
            raise Fail("the 64 MB chunk store never filled up")
        faults.append("chunk store file system full (64 MB tmpfs)")
        time.sleep(20)
    subprocess.run(["mount", "-o", "remount,size=1g", stack.chunks], check=True)
    faults.append("space freed (tmpfs grown to 1 GB)")
    return faults


def scen_dest_full(stack, rng, args):
    # The local destination is a 48 MB tmpfs: deliveries fail with "no
    # space" while photos keep arriving; then it is grown to 1 GB. Every
    # delivery must still complete (held and retried, not given up).
    faults = []
    with Feeder(stack, rng, rate=4.0):
        deadline = time.time() + 240
        while time.time() < deadline:
            st = os.statvfs(stack.dest)
            if st.f_bavail * st.f_frsize < 2_000_000:
                break
            time.sleep(1)
        else:
            raise Fail("the 48 MB destination never filled up")
        faults.append("local destination file system full (48 MB tmpfs)")
        time.sleep(30)
    subprocess.run(["mount", "-o", "remount,size=1g", stack.dest], check=True)
    faults.append("space freed (tmpfs grown to 1 GB)")
    return faults


def scen_partition(stack, rng, args):
    # Every worker connection to the coordinator dropped at once (the
    # forwarder killed), kept down 5-60 s, then healed; agents unaffected.
    faults = []
    rounds = 10 if args.long else 4
    with Feeder(stack, rng, rate=2.0):
        for _ in range(rounds):
            time.sleep(rng.uniform(3, 10))
            stack.kill9("proxy")
            down = rng.uniform(5, 60)
            faults.append("workers cut off from the coordinator (connections dropped)")
            time.sleep(down)
            stack.start("proxy")
            stack.wait_port(stack.proxy_port)
    return faults


def scen_bitflip(stack, rng, args):
    faults = []
    with Feeder(stack, rng, rate=4.0):
        time.sleep(15)
    wait_settled(stack, 300, len([1 for _, _, ns in os.walk(stack.src) for _ in ns]))
    files = []
    for root, _, names in os.walk(stack.chunks):
        files += [os.path.join(root, n) for n in names if os.path.getsize(os.path.join(root, n)) > 64]
    if not files:
        raise Fail(f"no chunk file under {stack.chunks}")
    victim = rng.choice(files)
    with open(victim, "r+b") as f:
        f.seek(os.path.getsize(victim) // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x10]))
    faults.append("one bit flipped in a stored chunk")
    delivered = []
    for root, _, names in os.walk(stack.dest):
        delivered += [os.path.join(root, n) for n in names]
    gone = rng.choice(delivered)
    os.unlink(gone)
    faults.append("one copy deleted at the local destination")
    r = stack.sb("verify", "--remote", check=False, timeout=600)
    log(f"shoebox verify --remote: exit {r.returncode}: {r.stdout.strip()[-400:]}")
    # Repaired when a scrub finds nothing open and the copy is back.
    t0 = time.time()
    while True:
        r = stack.sb("verify", check=False, timeout=600)
        if r.returncode == 0 and os.path.exists(gone):
            break
        if time.time() - t0 > 300:
            raise Fail(f"not repaired after 300 s: verify exit {r.returncode} ({r.stdout.strip()[-300:]}), "
                       f"{gone} {'back' if os.path.exists(gone) else 'still missing'}")
        time.sleep(5)
    log(f"chunk and copy repaired {time.time() - t0:.0f} s after verify --remote")
    return faults


# Offsets (s) a clock jumps to: ahead 2 h and 1 day, behind 1 h and 10 min,
# right. Not further behind than 1 h: certificates are valid from 1 h before
# their issue (common/crypto/pki.cc), and a verifier whose clock is further
# behind the issuer's refuses them as not yet valid. The workers' clocks stay
# within S3's 15 minutes (a signature dated further from the server's clock
# is refused, RequestTimeTooSkewed; s3rver checks it too).
CLOCK_OFFSETS = {"coordinator": (7200, 86400, -3600, -600, 0),
                 "agent": (7200, 86400, -3600, -600, 0),
                 "worker-1": (600, -600, 300, 0), "worker-2": (600, -600, 300, 0)}
CLOCK_PROCS = ("coordinator", "worker-1", "worker-2", "agent")
# Set forward to their highest offset at the end (scen_clock). The
# coordinator's clock stays where it lands: what it does on its clock
# (rate limits, sweeps, status ages) must not wait for the clock to catch up.
CLOCK_CORRECTED = ("worker-1", "worker-2", "agent")


def clock_plan(rng, span, jumps):
    """[(second, process, offset)]: `jumps` jumps per process at random
    moments, then each clock set to the highest offset it had (see
    scen_clock)."""
    plan = []
    for name in CLOCK_PROCS:
        cur, top = 0, 0
        for at in sorted(rng.uniform(3, span) for _ in range(jumps)):
            cur = rng.choice([o for o in CLOCK_OFFSETS[name] if o != cur])
            top = max(top, cur)
            plan.append((at, name, cur))
        if cur != top and name in CLOCK_CORRECTED:
            plan.append((span + 2, name, top))
    return sorted(plan)


# The step back of every clock at once at the end of scen_clock, and how soon
# after it the photos of that moment must be at every destination: far below
# the step. Each process's clock first goes forward where the step would take
# it past its floor (certificates: 1 h behind the issuer; S3: 15 min).
STEP_BACK_S = 300
STEP_BACK_BOUND_S = 90
STEP_FLOORS = {"coordinator": -3300, "agent": -3300, "worker-1": -840, "worker-2": -840}


def delivered_everywhere(stack, rel):
    """The photo at rel (under the watched folder) is complete at every
    destination (the local one renames a finished temporary file in; s3rver
    keeps an object as KEY._S3rver_object)."""
    size = os.path.getsize(os.path.join(stack.src, rel))
    top = os.path.join("dev", os.path.basename(stack.src), rel)
    paths = [os.path.join(stack.dest, top)]
    if stack.s3:
        paths.append(os.path.join(stack.work, "s3rver", "photos", top + "._S3rver_object"))
    return all(os.path.exists(p) and os.path.getsize(p) == size for p in paths)


def step_back_all(stack, feeder, faults):
    """Every clock (coordinator, workers, agent) back STEP_BACK_S s at once
    while photos arrive: NTP stepping a machine whose clock ran ahead. A wait
    for a wall-clock deadline in progress would last the step longer (Debian's
    Abseil waits that way); Shoebox's timed waits are on the monotonic clock
    (common/steady_wait.h). Returns (seconds until the photo written 5 s after
    the step was everywhere, seconds until every photo fed up to then was)."""
    moved = False
    for name in CLOCK_PROCS:
        cur = stack.offsets.get(name, 0)
        if cur - STEP_BACK_S < STEP_FLOORS[name]:
            stack.set_clock(name, STEP_FLOORS[name] + STEP_BACK_S)
            faults.append(f"clock of {name} forward")
            moved = True
    time.sleep(5 if moved else 1)
    for name in CLOCK_PROCS:
        stack.set_clock(name, stack.offsets.get(name, 0) - STEP_BACK_S)
    t_step = time.time()
    faults.append(f"clocks of all processes back {STEP_BACK_S} s at once")
    log(f"every clock back {STEP_BACK_S} s: " +
        ", ".join(f"{n} {stack.offsets[n]:+d} s" for n in CLOCK_PROCS))
    time.sleep(5)
    marker = feeder.one()
    t_written = time.time()
    t_marker = None
    while time.time() < t_written + 5:  # photos keep arriving meanwhile
        if t_marker is None and delivered_everywhere(stack, marker):
            t_marker = time.time() - t_written
        time.sleep(0.2)
    feeder.stop.set()
    feeder.thread.join()
    rels = [os.path.relpath(os.path.join(r, n), stack.src) for r, _, ns in os.walk(stack.src) for n in ns]
    while True:
        if t_marker is None and delivered_everywhere(stack, marker):
            t_marker = time.time() - t_written
        missing = [r for r in rels if not delivered_everywhere(stack, r)]
        if not missing:
            return t_marker, time.time() - t_step
        if time.time() - t_step > STEP_BACK_BOUND_S:
            raise Fail(f"{STEP_BACK_BOUND_S} s after every clock stepped back {STEP_BACK_S} s, "
                       f"{len(missing)} of {len(rels)} photos are not at every destination (e.g. "
                       f"{sorted(missing)[:3]}); the photo written 5 s after the step "
                       f"{'arrived after %.0f s' % t_marker if t_marker is not None else 'neither'}: "
                       f"a timed wait on the wall clock stalls for the step")
        time.sleep(0.5)


def scen_clock(stack, rng, args):
    """Wall clocks jump, each process its own (LD_PRELOAD faketime.c): forward
    and back, several times per process at random moments while photos
    arrive; the agent's and workers' clocks are then set forward to the
    highest offset each had, the coordinator's stays where it lands. Last,
    every clock steps back STEP_BACK_S at once (step_back_all): the photos
    of that moment must arrive within STEP_BACK_BOUND_S (docs/reliability.md,
    "Clock jumps")."""
    faults = []
    span = 300.0 if args.long else 100.0
    plan = clock_plan(random.Random(rng.random()), span, 8 if args.long else 3)
    t0 = time.time()
    with Feeder(stack, rng, rate=2.0) as feeder:
        for at, name, new in plan:
            time.sleep(max(0.0, t0 + at - time.time()))
            old = stack.offsets.get(name, 0)
            stack.set_clock(name, new)
            faults.append(f"clock of {name} {'forward' if new > old else 'back'}")
            log(f"clock of {name}: {old:+d} s -> {new:+d} s (a jump of {new - old:+d} s)")
        time.sleep(5)
        t_marker, t_all = step_back_all(stack, feeder, faults)
    log(f"after the step back of {STEP_BACK_S} s: the photo written 5 s later arrived in "
        f"{t_marker:.1f} s, every photo fed until then {t_all:.1f} s after the step")
    log("clocks end at " + ", ".join(f"{n} {stack.offsets.get(n, 0):+d} s" for n in CLOCK_PROCS))
    return faults


SCENARIOS = {"kill9": scen_kill9, "handshake": scen_handshake, "postgres": scen_postgres,
             "coordinator_down": scen_coordinator_down, "store_full": scen_store_full,
             "dest_full": scen_dest_full, "partition": scen_partition,
             "bitflip": scen_bitflip, "clock": scen_clock}


# --- checks ------------------------------------------------------------------------
def counts(s):
    d = s["destinations"]
    return (sum(x["delivered_files"] for x in d),
            sum(x["pending_files"] + x["in_flight_files"] + x["failed_files"] for x in d),
            sum(x["dead_files"] for x in d))


def wait_settled(stack, secs, nfiles=None):
    """Until the agent has nothing pending and is connected, and every
    destination has every file with nothing open. Returns seconds waited."""
    t0 = time.time()
    last = ""
    for name in stack.cmds:
        stack.start(name)  # anything still down comes back, as systemd would
    while time.time() - t0 < secs:
        a = stack.agent_status()
        s = stack.status()
        if s is not None and a:
            delivered, open_, dead = counts(s)
            want = nfiles * len(stack.dests) if nfiles is not None else delivered
            last = (f"agent {a.get('state')} connected={a.get('connected')} pending={a.get('files_pending')}; "
                    f"delivered {delivered}/{want}, open {open_}, dead {dead}")
            # A status the agent wrote since the wait began (by the agent's clock).
            fresh = (t0 - 5 + stack.offsets.get("agent", 0)) * 1000
            if (a.get("connected") and a.get("files_pending") == 0 and delivered >= want
                    and open_ == 0 and a.get("updated_unix_ms", 0) > fresh):
                return time.time() - t0
        time.sleep(1)
    raise Fail(f"not settled after {secs} s: {last}")


def check_trees(stack, nfiles):
    """Returns (lost, duplicates, mismatched) over all destinations."""
    src = {}
    for root, _, names in os.walk(stack.src):
        for n in names:
            p = os.path.join(root, n)
            src[os.path.relpath(p, stack.src)] = p
    if len(src) != nfiles:
        raise Fail(f"{len(src)} files in the source folder, {nfiles} fed")
    lost = dups = bad = tmp = 0
    roots = [os.path.join(stack.dest, "dev", os.path.basename(stack.src))]
    if stack.s3:
        # s3rver keeps each object as KEY._S3rver_object in its directory:
        # read there (its ListObjectsV2 fails on a thousand-odd keys, so
        # `aws s3 cp --recursive` cannot read a long run back).
        roots.append(os.path.join(stack.work, "s3rver", "photos", "dev", os.path.basename(stack.src)))
    for r in roots:
        got = {}
        for root, _, names in os.walk(r):
            for n in names:
                p = os.path.join(root, n)
                rel = os.path.relpath(p, r)
                if "_S3rver_" in n:
                    if not n.endswith("._S3rver_object"):
                        continue  # s3rver's own metadata and md5 files
                    rel = rel[: -len("._S3rver_object")]
                got[rel] = p
        for rel, p in src.items():
            if rel not in got:
                lost += 1
                log(f"LOST at {r}: {rel}")
            elif open(p, "rb").read() != open(got[rel], "rb").read():
                bad += 1
                log(f"DIFFERS at {r}: {rel}")
        for rel in got.keys() - src.keys():
            if ".shoebox-tmp-" in os.path.basename(rel):
                # A hidden temporary file of a worker killed in the middle of
                # a write (workers/connectors/local.h accepts these; counted,
                # not a copy of a photo under any name).
                tmp += 1
                continue
            dups += 1
            log(f"EXTRA at {r}: {rel}")
    return lost, dups, bad, tmp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    rng = random.Random(args.seed)
    mount = None
    if args.scenario in ("store_full", "dest_full") and os.geteuid() != 0:
        log(f"{args.scenario} needs root (mount -t tmpfs); skipped")
        return SKIP
    work = tempfile.mkdtemp(prefix=f"shoebox-faults-{args.scenario}.")
    os.chmod(work, 0o755)
    # A copy of the binaries: a rebuild during a long run must not swap
    # them under the restarts.
    for sub, exe in (("agent", "shoebox-agent"), ("coordinator", "shoebox-coordinator"),
                     ("workers", "shoebox-worker"), ("cli", "shoebox")):
        os.makedirs(os.path.join(work, "bin", sub))
        shutil.copy2(os.path.join(build, sub, exe), os.path.join(work, "bin", sub, exe))
    if args.scenario == "clock":
        shim = os.path.join(build, "tests", "faults", "faketime.so")
        if not os.path.exists(shim):
            log(f"{shim} missing: build the target shoebox_faketime first")
            return 1
        shutil.copy2(shim, os.path.join(work, "bin", "faketime.so"))
    build = os.path.join(work, "bin")

    def on_term(signum, frame):
        raise Fail(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    stack = Stack(build, work, rng)
    ok = False
    try:
        log(f"scenario {args.scenario}, seed {args.seed}, work {work}, destinations {stack.dests}")
        if args.scenario in ("store_full", "dest_full"):
            mount = os.path.join(work, "tmpfs")
            os.makedirs(mount)
            size = "64m" if args.scenario == "store_full" else "48m"
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mount], check=True)
        if args.scenario == "store_full":
            stack.setup(chunk_store=mount)
        elif args.scenario == "dest_full":
            stack.setup(dest_root=mount)
        elif args.scenario == "partition":
            stack.setup(workers_via_proxy=True)
        elif args.scenario == "clock":
            stack.faketime = set(CLOCK_PROCS)
            stack.setup()
        else:
            stack.setup()
        t0 = time.time()
        faults = SCENARIOS[args.scenario](stack, rng, args)
        nfiles = len([1 for _, _, ns in os.walk(stack.src) for _ in ns])
        log(f"{len(faults)} faults injected, {nfiles} files fed; waiting for recovery")
        recover = wait_settled(stack, 900 if args.long else 480, nfiles)
        a = stack.agent_status()
        s = stack.status()
        lost, dups, bad, tmp = check_trees(stack, nfiles)
        delivered, open_, dead = counts(s)
        problems = [p.get("message", p) if isinstance(p, dict) else p for p in s.get("problems", [])]
        res = {"scenario": args.scenario, "seed": args.seed, "faults": len(faults),
               "fault_kinds": sorted(set(faults)), "files": nfiles, "destinations": len(stack.dests),
               "lost": lost, "duplicates": dups, "differ": bad, "leftover_tmp": tmp, "delivered": delivered, "open": open_,
               "dead": dead, "recovery_s": round(recover, 1), "run_s": round(time.time() - t0),
               "agent_state": a.get("state"), "agent_reconnects": a.get("reconnects"),
               "problems": problems}
        print(json.dumps(res), flush=True)
        if os.environ.get("FAULTS_RESULTS"):
            with open(os.environ["FAULTS_RESULTS"], "a") as f:
                f.write(json.dumps(res) + "\n")
        errs = []
        if lost or dups or bad:
            errs.append(f"{lost} lost, {dups} extra copies, {bad} differing")
        if delivered != nfiles * len(stack.dests):
            errs.append(f"status counts {delivered} deliveries, {nfiles * len(stack.dests)} made")
        if open_ or dead:
            errs.append(f"{open_} deliveries still open, {dead} dead")
        if a.get("state") not in ("idle", "uploading", "scanning") or not a.get("connected"):
            errs.append(f"agent status is {a.get('state')} (connected={a.get('connected')})")
        if problems:
            errs.append(f"status still reports problems: {problems}")
        if errs:
            raise Fail("; ".join(errs))
        log(f"PASS: {len(faults)} faults, {nfiles} files x {len(stack.dests)} destinations, 0 lost, "
            f"0 duplicates, recovered in {recover:.0f} s")
        ok = True
        return 0
    except Fail as e:
        log(f"FAIL: {e}")
        return 1
    finally:
        try:
            stack.stop_all()
        finally:
            if not ok:
                for n in sorted(os.listdir(work)):
                    if n.endswith(".log"):
                        with open(os.path.join(work, n), errors="replace") as f:
                            tail = f.readlines()[-25:]
                        print(f"===== {n} (tail)\n{''.join(tail)}", file=sys.stderr)
            if mount:
                subprocess.run(["umount", "-l", mount])
            if args.keep or not ok:
                log(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
