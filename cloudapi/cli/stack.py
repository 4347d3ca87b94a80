"""`cloudapi up`: the API, a relay and one agent per host and regional pool, supervised."""

import os
import signal
import subprocess
import sys
import time
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


def run(app, host, port, workers):
    """Start everything, wait until one part stops or a signal comes, then stop them all."""
    database = app.extensions["cloudapi.db"]
    api = f"http://127.0.0.1:{port}"
    procs = [subprocess.Popen([CLOUDAPI, "serve", "--host", host, "--port", str(port),
                               "--workers", str(workers)])]  # fmt: skip
    procs.append(subprocess.Popen([CLOUDAPI, "relay"]))
    for name in queues(database):
        token = tokens.issue(database, host=name, label=f"agent {name} (cloudapi up)")
        env = {**os.environ, "AGENT_TOKEN": token}
        procs.append(subprocess.Popen([CLOUDAPI, "agent", "--host", name, "--api", api], env=env))
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.append(True))
    while not stopping and all(p.poll() is None for p in procs):
        time.sleep(0.2)
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    return 0 if stopping else 1
