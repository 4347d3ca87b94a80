"""Flip-to-visible across processes: every worker of two gunicorn servers sharing one
database sees a flag flip, and an account's new tag, within a second (issue 14, point 6).

"Every worker" is known from the servers' access logs: each logs, per request, the worker
that served it (pid) and the probe's own `X-Probe` header (gunicorn's `%({x-probe}i)s`;
nothing is added to the app). A change counts as visible to a worker from the first probe
it answered in the new state after the last one it answered in the old; its latency is
the latest of the four workers', from the commit of the change (when the write returned,
as `cloudapi flags enable` prints "off -> on"). The write's own time is reported beside it.

The changes are made as `cloudapi flags enable` and `cloudapi accounts tag` make them:
from another process (this one), straight to the database through the flag admin and
the accounts service. Made through a server's admin API, each would first queue behind
the probes in that server (up to 0.4 s on a loaded 2-core machine), which says nothing
about how fast the other workers learn of it; made here, the write shares this process
with the probe threads, so its own time is mostly theirs. bench/flip_bench.py runs the
same measurement over more changes.
"""

import http.client
import itertools
import math
import os
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import pytest

from cloudapi.flagging.admin import flag_admin
from cloudapi.services import accounts
from tests.support.gunicorn import Gunicorn

pytestmark = pytest.mark.slow

TYPES = "/v4/linode/types"
MARKER = b'"g1-gpu-rtx6000-1"'  # in the types a caller sees once GPU Linodes are on for it
LAUNCH = "gpu-linodes-launch"
SERVERS, WORKERS = 2, 2  # gunicorn processes, and workers in each
THREADS = 4  # probing threads per server
STREAK = 3  # probes a worker answers in the new state before a change counts as seen
TIMEOUT = 5.0  # seconds a change may take before the measurement gives up on it
TARGET = 1.0  # seconds, at p99
FLIPS, TAG_CHANGES = 20, 6
LOG_FORMAT = "pid=%(p)s probe=%({x-probe}i)s status=%(s)s"
ACCESS = re.compile(rb"pid=<?(\d+)>? probe=(\d+) status=(\d+)")  # %(p)s is "<pid>"


def server_env(url, instance_path):
    """The environment of one server: the shared database, its own instance folder.

    The principal cache (AUTH_CACHE_SECONDS) and the SDK's own reload (the refresh
    interval) are made long, so that a change can only be seen through the flag watcher,
    not because an entry happened to expire.
    """
    return {"DATABASE_URL": url, "RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off",
            "AUTH_CACHE_SECONDS": "60", "UNLEASH_REFRESH_INTERVAL": "60",
            "CLOUDAPI_INSTANCE_PATH": str(instance_path),
            "GUNICORN_CMD_ARGS": f"--access-logformat '{LOG_FORMAT}'"}  # fmt: skip


@contextmanager
def servers_on(url, workdir, servers=SERVERS, workers=WORKERS, extra_env=None):
    """`servers` gunicorn processes (`cloudapi serve`) of `workers` each, on one database."""
    with ExitStack() as stack:
        made = []
        for n in range(servers):
            env = {**server_env(url, workdir / f"instance-{n}"), **(extra_env or {})}
            log_path = workdir / f"server-{n}.log"
            made.append(stack.enter_context(Gunicorn(env, workers, log_path, name=f"server {n}")))
        yield made


def percentile(values, q):
    """The nearest-rank percentile (q in 0..1): of 20 values, p99 is the largest."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


class Probes:
    """GETs of the types from many threads, and which worker answered each (from the logs)."""

    def __init__(self, servers, workers_each=WORKERS):
        self.servers, self.workers_each = servers, workers_each
        self._ids = itertools.count(1)
        self._offsets = [0] * len(servers)
        self.worker_of = {}  # probe id -> (server index, worker pid)

    def one(self, index, token):
        """One request to server `index`, a fresh connection each (spread over workers):
        (probe id, seconds when sent, whether the answer holds MARKER)."""
        probe = next(self._ids)
        server = self.servers[index]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        sent = time.monotonic()
        try:
            conn.request("GET", TYPES, headers={"Authorization": f"Bearer {token}",
                                                "X-Probe": str(probe)})  # fmt: skip
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        assert response.status == 200, (response.status, body[:300])
        return probe, sent, MARKER in body

    def read_logs(self):
        """Map the probes logged since the last call to the worker that served them."""
        for index, server in enumerate(self.servers):
            with open(server.log_path, "rb") as log:
                log.seek(self._offsets[index])
                data = log.read()
            complete = data[: data.rfind(b"\n") + 1]
            self._offsets[index] += len(complete)
            for pid, probe, _ in ACCESS.findall(complete):
                self.worker_of[int(probe)] = (index, int(pid))

    def run(self, token, done, timeout, first=None):
        """Probe every server from THREADS threads each; once they run, call `first()` (the
        change measured); then go on until done(results), or for `timeout` seconds.

        `token` is one caller's token, or a list of them, one per thread: where the servers
        rate-limit, each thread then spends its own caller's budget."""
        results, stop = [], threading.Event()
        tokens = [token] if isinstance(token, str) else list(token)

        def hammer(index, token):
            while not stop.is_set():
                results.append(self.one(index, token))

        with ThreadPoolExecutor(THREADS * len(self.servers)) as pool:
            futures = [pool.submit(hammer, i, tokens[(i * THREADS + t) % len(tokens)])
                       for i in range(len(self.servers)) for t in range(THREADS)]  # fmt: skip
            try:
                if first is not None:
                    first()
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and not any(f.done() for f in futures):
                    time.sleep(0.02)
                    self.read_logs()
                    if done(results):
                        break
            finally:
                stop.set()
                for future in futures:
                    future.result()  # a failed probe fails the measurement
        self.read_logs()
        return results

    def workers(self, token, timeout=30.0):
        """Every worker of every server: probed until each has answered (each one's app,
        and so its flag watcher, is started by then)."""
        wanted = len(self.servers) * self.workers_each
        self.run(token, lambda _: len(set(self.worker_of.values())) >= wanted, timeout)
        found = set(self.worker_of.values())
        assert len(found) >= wanted, f"only {len(found)} of {wanted} workers answered"
        return found

    def since(self, results, wanted):
        """Per worker: (when the first probe after its last stale one was sent, how many
        probes it has answered in the `wanted` state since)."""
        by_worker = {}
        for probe, sent, state in sorted(results, key=lambda r: r[1]):
            worker = self.worker_of.get(probe)
            if worker is not None:
                by_worker.setdefault(worker, []).append((sent, state))
        seen = {}
        for worker, answers in by_worker.items():
            stale = [i for i, (_, state) in enumerate(answers) if state != wanted]
            after = answers[stale[-1] + 1 :] if stale else answers
            if after:
                seen[worker] = (after[0][0], len(after))
        return seen

    def until_visible(self, token, wanted, workers, change):
        """Make `change()` while probing; (seconds from its commit, when it returned, until
        every worker answers `wanted`, i.e. MARKER present or not; seconds it took)."""
        timing = {}

        def make_change():
            # Probes see the old state meanwhile; the pause also keeps changes out of step
            # with the workers' periodic checks.
            time.sleep(random.uniform(0.05, 0.3))
            started = time.monotonic()
            change()
            timing["committed"] = time.monotonic()
            timing["took"] = timing["committed"] - started

        def everywhere(results):
            seen = self.since(results, wanted)
            return all(w in seen and seen[w][1] >= STREAK for w in workers)

        seen = self.since(self.run(token, everywhere, TIMEOUT, first=make_change), wanted)
        missing = sorted(w for w in workers if w not in seen or seen[w][1] < STREAK)
        assert not missing, f"workers {missing} not in the new state within {TIMEOUT} s"
        committed = timing["committed"]
        return max(max(0.0, seen[w][0] - committed) for w in workers), timing["took"]


def writers(app, account_id):
    """(flip, tag): `flip(on)` turns LAUNCH on or off, `tag(on)` adds or removes the
    account's `employee` tag, each committed in a transaction of its own, as the CLI does."""
    database = app.extensions["cloudapi.db"]
    admin = flag_admin(app.config, database)

    def flip(enabled):
        admin.set_enabled(LAUNCH, enabled, "test_flip_latency")

    def tag(tagged):
        change = accounts.add_tag if tagged else accounts.remove_tag
        change(database, account_id, "employee")

    return flip, tag


def measure(probes, workers, token, change, changes):
    """change(True), change(False), ... `changes` times: (latency, took) of each.

    For a flip the customer's token sees MARKER once the launch is on; for a tag change
    (the launch off) the tagged account's token sees it while tagged (early access).
    """
    return [probes.until_visible(token, n % 2 == 0, workers, lambda n=n: change(n % 2 == 0))
            for n in range(changes)]  # fmt: skip


def summary(name, timed):
    """p50, p99 and max of the latencies, and the median time of the writes before them."""
    ms = [1000 * latency for latency, _ in timed]
    took = percentile([1000 * took for _, took in timed], 0.5)
    return (f"{name}: n={len(ms)} p50 {percentile(ms, 0.5):.0f} ms, p99 "
            f"{percentile(ms, 0.99):.0f} ms, max {max(ms):.0f} ms after the commit (the write "
            f"before it: {took:.0f} ms, median)")  # fmt: skip


def _token(headers):
    return headers["Authorization"].split()[1]


@pytest.mark.usefixtures("gpu_hosts")
def test_flips_and_tags_reach_every_worker_within_a_second(app, make_account, tmp_path,
                                                           capsys):  # fmt: skip
    url = app.config["DATABASE_URL"]
    backend = url.split(":")[0].split("+")[0]
    _, customer = make_account()
    tagged_id, to_tag = make_account()
    flip, tag = writers(app, tagged_id)
    with servers_on(url, tmp_path) as servers:
        probes = Probes(servers)
        workers = probes.workers(_token(customer))
        flips = measure(probes, workers, _token(customer), flip, FLIPS)
        tags = measure(probes, workers, _token(to_tag), tag, TAG_CHANGES)
    # On a shared 2-core machine other suites starve the workers at times: say how busy.
    load = f"load average {os.getloadavg()[0]:.1f}"
    with capsys.disabled():
        print(f"\n[flip latency, {backend}, {SERVERS}x{WORKERS} workers, {load}] "
              f"{summary('flips', flips)}; {summary('tags', tags)}")  # fmt: skip
    flip_p99 = percentile([latency for latency, _ in flips], 0.99)
    assert flip_p99 < TARGET, f"{summary('flips', flips)}; {load}"
    assert max(latency for latency, _ in tags) < TARGET, f"{summary('tags', tags)}; {load}"
