"""Shared by the local service servers of tests/fakes.

spend_request(): the added latency and the request budget (429 with
Retry-After); add_server_args() and serve(): the command line and the
server loop.

exit_with_parent(): a server started by a test process (tests/support
ScopedProcess) or a test script (deploy/lib.sh sb_start) exits when that
parent goes, even when the parent was killed (a ctest timeout, SIGKILL) and
could not stop it: an orphaned server would keep its port, its threads and
its data directory under /tmp for ever.
"""

import os
import threading
import time


def exit_with_parent(poll_s=1.0):
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def spend_request(st):
    """Added latency and the fixed-window request budget of a fake.

    `st` has lock, latency_s, stats (requests, throttled, early), budget (0:
    none), window_s, window_start, window_count and retry_not_before. Counts
    the request, and a request that came before an earlier Retry-After ran
    out as "early". Returns None when the request may go on, else the
    Retry-After seconds of the 429 the caller answers in its service's words.
    """
    if st.latency_s:
        time.sleep(st.latency_s)
    with st.lock:
        st.stats["requests"] += 1
        now = time.time()
        if now < st.retry_not_before:
            st.stats["early"] += 1
        if not st.budget:
            return None
        if now - st.window_start >= st.window_s:
            st.window_start, st.window_count = now, 0
        st.window_count += 1
        if st.window_count <= st.budget:
            return None
        st.stats["throttled"] += 1
        wait = max(1, int(st.window_start + st.window_s - now + 0.999))
        st.retry_not_before = max(st.retry_not_before, now + wait - 0.05)
        return wait


def add_server_args(ap, page_size):
    """The command line every service fake takes (tests/support starts them)."""
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--token-ttl", type=float, default=3600)
    ap.add_argument("--page-size", type=int, default=page_size)
    ap.add_argument("--latency-ms", type=float, default=0,
                    help="delay added to every API and upload request (benchmarks)")
    ap.add_argument("--throttle-budget", type=int, default=0,
                    help="requests per --throttle-window seconds; 0: unlimited")
    ap.add_argument("--throttle-window", type=float, default=1.0)


def serve(a, handler, state):
    """Serves `handler` on 127.0.0.1:a.port with `state` until the parent goes."""
    from http.server import ThreadingHTTPServer
    os.makedirs(a.data, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), handler)
    srv.daemon_threads = True
    srv.state = state
    state.latency_s = a.latency_ms / 1000.0
    state.budget, state.window_s = a.throttle_budget, a.throttle_window
    exit_with_parent()
    srv.serve_forever()
