"""`cloudapi up`: the API, a relay and one agent per host and regional pool, supervised.

Each part's state is shown as it changes: the API's /readyz, and the relay's and each
agent's on a health port of its own (`--health-port`, a free one picked here), e.g.
`relay  ready  http://127.0.0.1:41234/readyz`, or `unavailable (broker)` naming what is down.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import select

from cloudapi.db.catalog import Region
from cloudapi.db.inventory import Host
from cloudapi.services import tokens

CLOUDAPI = str(Path(sys.executable).with_name("cloudapi"))


def queues(database):
    """Every agent queue: each registered host, and each region's shared pool."""
    with database.reader() as session:
        hosts = list(session.scalars(select(Host.hostname).order_by(Host.hostname)))
        regions = list(session.scalars(select(Region.id).order_by(Region.id)))
    return hosts + [f"pool.{r}" for r in regions]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def state_of(url):
    """A part's readiness, in words: ready, unavailable (what is down), or not answering."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return "ready" if answer.status == 200 else f"HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        try:
            down = json.loads(exc.read()).get("down") or []
        except ValueError:
            down = []
        return f"unavailable ({', '.join(down)})" if down else f"HTTP {exc.code}"
    except OSError:
        return "not answering"


def show_states(parts, stop, every=3.0, patience=60.0):
    """Print each part's state when it changes (a daemon thread's loop, until `stop`).

    A part still starting is not shown as `not answering` for its first `patience`
    seconds; once every part has been ready, one line says so.
    """
    shown, started, all_ready = {}, time.monotonic(), False
    width = max(len(name) for name, _ in parts)
    while not stop.is_set():
        for name, url in parts:
            state = state_of(url)
            starting = name not in shown and time.monotonic() - started < patience
            if shown.get(name) != state and not (starting and state == "not answering"):
                shown[name] = state
                print(f"{name:<{width}}  {state:<28} {url}", flush=True)
        if not all_ready and all(shown.get(name) == "ready" for name, _ in parts):
            all_ready = True
            print(f"all {len(parts)} parts ready", flush=True)
        stop.wait(every)


def run(app, host, port, workers):
    """Start everything, show each part's state, wait until one part stops or a signal
    comes, then stop them all."""
    database = app.extensions["cloudapi.db"]
    api = f"http://127.0.0.1:{port}"
    procs = [subprocess.Popen([CLOUDAPI, "serve", "--host", host, "--port", str(port),
                               "--workers", str(workers)])]  # fmt: skip
    parts = [("api", f"{api}/readyz")]
    # The relay and the agents count on their own ports, never in the API's metrics folder.
    own = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    relay_port = free_port()
    procs.append(subprocess.Popen([CLOUDAPI, "relay", "--health-port", str(relay_port)], env=own))
    parts.append(("relay", f"http://127.0.0.1:{relay_port}/readyz"))
    for name in queues(database):
        token = tokens.issue(database, host=name, label=f"agent {name} (cloudapi up)")
        agent_port = free_port()
        procs.append(subprocess.Popen([CLOUDAPI, "agent", "--host", name, "--api", api,
                                       "--health-port", str(agent_port)],
                                      env={**own, "AGENT_TOKEN": token}))  # fmt: skip
        parts.append((f"agent {name}", f"http://127.0.0.1:{agent_port}/readyz"))
    stop_showing = threading.Event()
    threading.Thread(target=show_states, args=(parts, stop_showing), daemon=True).start()
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.append(True))
    while not stopping and all(p.poll() is None for p in procs):
        time.sleep(0.2)
    stop_showing.set()
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    return 0 if stopping else 1
