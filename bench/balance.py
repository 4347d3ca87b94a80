"""How a load run's connections spread over gunicorn's workers, and whether to restart it.

Gunicorn's workers share one listening socket, and wrk opens all its keep-alive
connections at once. One worker may accept them all, so the run uses one core out of two:
that halves req/s at random, on the ceiling as much as on the real app. The bench counts
each worker's connections through /proc and restarts such a run (bench/wrk.py).
"""

import contextlib
import os
import time
from pathlib import Path

BALANCE_ATTEMPTS = 8
# Pause before a measured run (and between its restarts) so that both workers are idle,
# requests left from the warm-up finished, when wrk opens its connections.
SETTLE_S = 1.0


def balanced(split, workers, connections):
    """Whether every worker holds at least a quarter of its fair share of connections."""
    if split is None or connections < workers:
        return True
    if len(split) < workers:
        return False
    return min(split) >= max(1, connections // (4 * workers))


def worker_pids(arbiter_pid):
    """The arbiter's children, read from /proc (Linux)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == arbiter_pid:
            pids.append(int(entry))
    return pids


def _established_inodes(port):
    """Socket inodes of the established TCP connections to local `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def _sockets_held(pid, inodes):
    """How many of `inodes` process `pid` has open."""
    held = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                held += link.startswith("socket:[") and link[8:-1] in inodes
    return held


def connection_split(server):
    """Established connections each worker of `server` holds, most first; None without /proc."""
    inodes = _established_inodes(server.port)
    if not inodes and not Path("/proc/net/tcp").exists():
        return None
    split = [_sockets_held(pid, inodes) for pid in worker_pids(server.proc.pid)]
    return sorted(split, reverse=True)


def sample_split(server, duration):
    """The split a moment into a run, once the load generator has opened its connections."""
    time.sleep(min(0.5, duration / 4))
    return connection_split(server)
