"""Shared by the local service servers of tests/fakes.

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
