"""A fleet on one machine (issue 16, point 4): the production topology, its guarantees.

One module-scoped topology on PostgreSQL: two API servers (`cloudapi serve`, 2 workers
each, on different ports), two relays (`cloudapi relay`) and one real host agent per GPU
host (`cloudapi agent`, the simulated driver), sharing one database, one RabbitMQ (the
hosts' queues are this run's own) and one Redis key prefix, with one SECRET_KEY. Each
test proves one guarantee across both servers and prints its figures. The kill test runs
last: it kills server 1 and relay 1 for good.
"""

import http.client
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import pytest
import requests
from sqlalchemy import select

from cloudapi import create_app
from cloudapi.db.instances import Instance
from cloudapi.db.jobs import Job
from cloudapi.services import accounts, hosts, tokens
from cloudapi.services.demo_hosts import RTX6000, describe
from tests.integration.test_flip_latency import (
    LOG_FORMAT,
    STREAK,
    TARGET,
    THREADS,
    Probes,
    writers,
)
from tests.integration.test_shared_rate_limits import start_together
from tests.support import databases
from tests.support.gunicorn import CLOUDAPI, Gunicorn, _killpg
from tests.support.inventory import check_invariants
from tests.support.rabbit import rabbit_namespace, rabbit_url
from tests.support.redis_store import redis_namespace
from tests.support.unleash import free_port

pytestmark = pytest.mark.slow

SERVERS, WORKERS, RELAYS, HOSTS = 2, 2, 2, 2  # 2 hosts x 8 GPUs = 16 GPUs
GPUS = 8 * HOSTS
RATE_LIMIT = 500  # requests per caller per 120 s, counted in the shared Redis
BODY = {"region": "us-east", "image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x",
        "type": "g1-gpu-rtx6000-1"}  # fmt: skip
FLIPS = 6


class Fleet:
    """The running parts, and helpers on the shared database."""

    def __init__(self, app, workdir):
        self.app, self.db, self.workdir = app, app.extensions["cloudapi.db"], workdir
        self.servers, self.relays, self.agents = [], [], []
        self._n = 0

    def account(self, tags=("employee",)):
        """A new account and its token (every caller its own rate-limit budget)."""
        self._n += 1
        with self.db.transaction() as session:
            made = accounts.create(session, f"fleet{self._n}-{uuid.uuid4().hex[:6]}@example.com",
                                   tags)  # fmt: skip
            return made.id, tokens.create(session, account_id=made.id)

    def statuses(self, ids):
        with self.db.reader() as session:
            rows = session.execute(select(Instance.id, Instance.status)
                                   .where(Instance.id.in_(ids)))  # fmt: skip
            return dict(rows.all())

    def wait_running(self, ids, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            found = self.statuses(ids)
            if len(found) == len(ids) and set(found.values()) == {"running"}:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not all running after {timeout} s: {Counter(found.values())}"
                                     f"{self.part_logs()}")  # fmt: skip
            time.sleep(0.2)

    def wait_gpus_free(self, wanted=GPUS, timeout=30):
        deadline = time.monotonic() + timeout
        while (free := check_invariants(self.db)["gpus_free"]) != wanted:
            assert time.monotonic() < deadline, f"{free} GPUs free, wanted {wanted}"
            time.sleep(0.2)

    def part_logs(self):
        tails = []
        for path in sorted(self.workdir.glob("*.log")):
            tails.append(f"\n--- {path.name}\n{path.read_text(errors='replace')[-1500:]}")
        return "".join(tails)


def _wait_ready(url, proc, name, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{name} exited with {proc.returncode}"
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{name} not ready within {timeout} s ({url})")


@contextmanager
def part(command, env, log_path, name):
    """A `cloudapi relay` or `cloudapi agent` in its own process group, ready on /readyz."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*command, "--health-port", str(port)], env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        proc.name = name
        try:
            _wait_ready(f"http://127.0.0.1:{port}/readyz", proc, name)
            yield proc
        finally:
            _killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fleet")
    with ExitStack() as stack:
        url = stack.enter_context(databases.postgres_database())
        databases.migrate(url)
        rabbit = stack.enter_context(rabbit_namespace())
        store = stack.enter_context(redis_namespace())
        app = create_app({"DATABASE_URL": url, "TESTING": True, "RATE_LIMIT": "off",
                          "RATE_LIMIT_CREATE": "off"})  # fmt: skip
        stack.callback(app.extensions["cloudapi.db"].dispose)
        if app.extensions.get("cloudapi.flags") is not None:
            stack.callback(app.extensions["cloudapi.flags"].shutdown)
        made = Fleet(app, workdir)
        agent_tokens = {}
        for n in range(HOSTS):
            host = rabbit.adopt(f"gpu-{rabbit.tag}-{n}.us-east")  # this run's own queue
            with made.db.transaction() as session:
                hosts.register(session, describe(host, "us-east", 2, 4, RTX6000))
                agent_tokens[host] = tokens.create(session, host=host)
        shared = {"DATABASE_URL": url, "BROKER_URL": rabbit_url(), **store,
                  "SECRET_KEY": f"fleet-{uuid.uuid4().hex}", "RATE_LIMIT": f"{RATE_LIMIT}/120",
                  "RATE_LIMIT_CREATE": "off", "UNLEASH_REFRESH_INTERVAL": "60"}  # fmt: skip
        shared = {k: v for k, v in {**os.environ, **shared}.items()
                  if k != "PROMETHEUS_MULTIPROC_DIR"}  # fmt: skip
        servers = [Gunicorn({**shared, "CLOUDAPI_INSTANCE_PATH": str(workdir / f"api-{n}"),
                             "GUNICORN_CMD_ARGS": f"--access-logformat '{LOG_FORMAT}'"},
                            WORKERS, workdir / f"api-{n}.log", name=f"api {n}")
                   for n in range(SERVERS)]  # fmt: skip
        start_together(servers)
        for server in servers:
            stack.callback(server.__exit__, None, None, None)
        made.servers = servers
        for n in range(RELAYS):
            made.relays.append(stack.enter_context(part(
                [CLOUDAPI, "relay", "--poll", "0.1"],
                {**shared, "CLOUDAPI_INSTANCE_PATH": str(workdir / f"relay-{n}")},
                workdir / f"relay-{n}.log", f"relay {n}")))  # fmt: skip
        for n, (host, token) in enumerate(agent_tokens.items()):
            # The agents report to server 0 (in production: through the load balancer);
            # the kill test kills server 1.
            env = {**shared, "AGENT_TOKEN": token, "AGENT_STATE_DIR": str(workdir / "agents"),
                   "CLOUDAPI_INSTANCE_PATH": str(workdir / f"agent-{n}")}  # fmt: skip
            made.agents.append(stack.enter_context(part(
                [CLOUDAPI, "agent", "--host", host, "--api", servers[0].url, "--boot-seconds",
                 "0.2"], env, workdir / f"agent-{n}.log", f"agent {n}")))  # fmt: skip
        yield made


def post(server, token, body, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(f"{server.url}/v4/linode/instances", json=body, headers=headers,
                         timeout=60)  # fmt: skip


def delete_all(fleet, made):
    """Delete (instance id, token) pairs, then wait for every GPU to be free again."""
    for instance_id, token in made:
        gone = fleet.servers[0].delete(f"/v4/linode/instances/{instance_id}", token)
        assert gone.status_code == 200, gone.text
    fleet.wait_gpus_free()


def say(capsys, line):
    with capsys.disabled():
        print(f"\n[fleet] {line}")


def test_concurrent_creates_never_oversell_nor_refuse_free_capacity(fleet, capsys):
    clients = 40
    callers = [fleet.account()[1] for _ in range(clients)]
    start = threading.Barrier(clients)

    def create(n):
        start.wait()
        return n % SERVERS, post(fleet.servers[n % SERVERS], callers[n], BODY)

    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(create, range(clients)))
    made = Counter(s for s, r in answers if r.status_code == 200)
    refused = [r for _, r in answers if r.status_code != 200]
    per_server = {s: made.get(s, 0) for s in range(SERVERS)}
    say(capsys, f"{clients} concurrent 1-GPU creates on {GPUS} free GPUs: created per server "
                f"{per_server}, refused {len(refused)} (free capacity "
                f"{GPUS}, so {clients - GPUS} must be refused)")  # fmt: skip
    assert sum(made.values()) == GPUS, [r.text for r in refused][:3]
    # Which server wins a GPU is scheduling; each answered its share, sold or refused.
    assert Counter(s for s, _ in answers) == dict.fromkeys(range(SERVERS), clients // SERVERS)
    assert {r.status_code for r in refused} == {400}
    assert {r.json()["errors"][0]["field"] for r in refused} == {"type"}
    assert check_invariants(fleet.db)["gpus_free"] == 0
    sold = [(r.json()["id"], callers[n]) for n, (_, r) in enumerate(answers) if r.ok]
    fleet.wait_running([i for i, _ in sold])
    delete_all(fleet, sold)


def test_one_idempotency_key_sent_to_both_servers_creates_one_instance(fleet, capsys):
    account_id, token = fleet.account()
    key = f"fleet-{uuid.uuid4().hex[:8]}"
    start = threading.Barrier(10)

    def create(n):
        start.wait()
        return post(fleet.servers[n % SERVERS], token, BODY, key)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(create, range(10)))
    with fleet.db.reader() as session:
        ids = session.scalars(select(Instance.id).where(Instance.account_id == account_id)).all()
    say(capsys, f"one key, 10 concurrent creates over both servers: {len(ids)} instance, "
                f"statuses {dict(Counter(r.status_code for r in answers))}")  # fmt: skip
    assert [r.status_code for r in answers] == [200] * 10, [r.text for r in answers if not r.ok]
    assert len(ids) == 1 and len({r.json()["id"] for r in answers}) == 1
    assert check_invariants(fleet.db)["gpus_free"] == GPUS - 1
    fleet.wait_running(ids)
    delete_all(fleet, [(ids[0], token)])


def _get(server, token, path="/v4/linode/instances"):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_rate_limit_is_exact_across_both_servers(fleet, capsys):
    _, token = fleet.account(tags=())
    sent = RATE_LIMIT + 100
    with ThreadPoolExecutor(8) as pool:  # concurrent, fresh connections, alternating servers
        statuses = list(pool.map(lambda n: (n % SERVERS, _get(fleet.servers[n % SERVERS], token)),
                                 range(sent)))  # fmt: skip
    ok = Counter(s for s, status in statuses if status == 200)
    limited = sum(status == 429 for _, status in statuses)
    say(capsys, f"rate limit {RATE_LIMIT}/120 s, {sent} requests over both servers: "
                f"answered {sum(ok.values())} (per server {dict(sorted(ok.items()))}), "
                f"429 {limited}, all {dict(Counter(st for _, st in statuses))}")  # fmt: skip
    assert sum(ok.values()) == RATE_LIMIT and limited == sent - RATE_LIMIT


def test_a_console_logout_on_one_server_ends_the_session_on_the_other(fleet, capsys):
    one, other = fleet.servers
    account_id, _ = fleet.account(tags=())
    with fleet.db.transaction() as session:
        admin = tokens.create(session, is_admin=True, label="fleet console test")
    made = requests.post(f"{one.url}/admin/session", json={"token": admin}, timeout=10)
    assert made.status_code == 200, made.text
    cookie, csrf = made.headers["Set-Cookie"].split(";")[0], made.json()["csrf_token"]

    def replay(server, n=10):
        got = set()
        for i in range(n):  # fresh connections: both workers of the server answer
            got.add(requests.get(f"{server.url}/admin/accounts?n={i}", timeout=10,
                                 headers={"Cookie": cookie}).status_code)  # fmt: skip
            checked = {"Cookie": cookie, "X-CSRF-Token": csrf}
            tags = f"{server.url}/admin/accounts/{account_id}/tags"
            got.add(
                requests.post(tags, json={"tag": f"t{i}"}, headers=checked, timeout=10).status_code
            )
        return got

    before = replay(one) | replay(other)
    assert before == {200}, f"the session (and its CSRF token) works on both: {before}"
    gone = requests.delete(f"{one.url}/admin/session", headers={"Cookie": cookie}, timeout=10)
    assert gone.status_code == 200
    after = {n: replay(s) for n, s in enumerate(fleet.servers)}
    say(capsys, f"console session: before logout {sorted(before)} on both; after logout on "
                f"server 0: server 0 {sorted(after[0])}, server 1 {sorted(after[1])}")  # fmt: skip
    assert after == {0: {401}, 1: {401}}


def _per_server(probes, tokens, wanted, workers, change):
    """Make `change()` while probing both servers: per server, seconds from its commit until
    every worker of that server answers `wanted` (as Probes.until_visible, split by server)."""
    timing = {}

    def make_change():
        time.sleep(random.uniform(0.05, 0.3))
        change()
        timing["committed"] = time.monotonic()

    def everywhere(results):
        seen = probes.since(results, wanted)
        return all(w in seen and seen[w][1] >= STREAK for w in workers)

    seen = probes.since(probes.run(tokens, everywhere, 5.0, first=make_change), wanted)
    missing = sorted(w for w in workers if w not in seen or seen[w][1] < STREAK)
    assert not missing, f"workers {missing} not in the new state within 5 s"
    latency = {}
    for server, pid in workers:
        took = max(0.0, seen[(server, pid)][0] - timing["committed"])
        latency[server] = max(latency.get(server, 0.0), took)
    return latency


def test_a_flag_flip_reaches_both_servers_within_a_second(fleet, capsys):
    flip, _ = writers(fleet.app, fleet.account()[0])
    probes = Probes(fleet.servers, WORKERS)
    workers = probes.workers([fleet.account(tags=())[1] for _ in range(SERVERS * THREADS)])
    runs = []
    try:
        for n in range(FLIPS):  # on, off, ...: ends off, as it began
            # Fresh callers, one per probing thread: each thread stays under its own limit
            # (RATE_LIMIT per 120 s) however fast the servers answer.
            tokens = [fleet.account(tags=())[1] for _ in range(SERVERS * THREADS)]
            runs.append(_per_server(probes, tokens, n % 2 == 0, workers,
                                    lambda n=n: flip(n % 2 == 0)))  # fmt: skip
    finally:
        flip(False)
    worst = {s: max(r[s] for r in runs) for s in range(SERVERS)}
    say(capsys, f"{FLIPS} flips, slowest worker per server per flip (ms): "
                + "; ".join(f"server {s} " + ", ".join(f"{1000 * r[s]:.0f}" for r in runs)
                            for s in range(SERVERS))
                + f" (max {', '.join(f'{1000 * v:.0f}' for v in worst.values())})")  # fmt: skip
    assert max(worst.values()) < TARGET, worst


def test_killing_an_api_server_and_a_relay_mid_burst_loses_nothing(fleet, capsys):
    """Creates to both servers; mid-burst server 1 and relay 1 are SIGKILLed. A client whose
    request failed with the connection retries on server 0 with the same Idempotency-Key."""
    assert check_invariants(fleet.db)["gpus_free"] == GPUS
    callers = [fleet.account()[1] for _ in range(GPUS)]
    keys = [f"kill-{uuid.uuid4().hex[:8]}" for _ in range(GPUS)]
    killed = threading.Event()
    first_try = Counter()

    def create(n):
        time.sleep(n * 0.08)  # the burst spans ~1.3 s; the kills come at ~0.5 s
        server = fleet.servers[n % SERVERS]
        try:
            answer = post(server, callers[n], BODY, keys[n])
            first_try["answered" if answer.ok else f"status {answer.status_code}"] += 1
        except requests.RequestException:
            first_try["connection failed"] += 1
            answer = None
        if answer is None or answer.status_code >= 500:  # a client's retry, on the other
            answer = post(fleet.servers[0], callers[n], BODY, keys[n])
        return answer

    def kill():
        time.sleep(0.5)
        _killpg(fleet.servers[1].proc.pid, signal.SIGKILL)
        _killpg(fleet.relays[1].pid, signal.SIGKILL)
        killed.set()

    with ThreadPoolExecutor(GPUS + 1) as pool:
        killer = pool.submit(kill)
        answers = list(pool.map(create, range(GPUS)))
        killer.result()
    assert killed.is_set() and fleet.servers[1].proc.wait(10) is not None
    assert fleet.relays[1].wait(10) is not None
    assert [r.status_code for r in answers] == [200] * GPUS, [r.text for r in answers if not r.ok]
    ids = [r.json()["id"] for r in answers]
    assert len(set(ids)) == GPUS
    fleet.wait_running(ids)
    with fleet.db.reader() as session:
        creates = select(Job.instance_id, Job.sent_at).where(Job.action == "create")
        jobs = session.execute(creates.where(Job.instance_id.in_(ids))).all()
        alive = session.scalars(select(Instance.id).where(Instance.deleted_at.is_(None))).all()
    per_instance = Counter(i for i, _ in jobs)
    lost = GPUS - sum(s == "running" for s in fleet.statuses(ids).values())
    unsent = sum(sent is None for _, sent in jobs)
    say(capsys, f"{GPUS} creates, server 1 and relay 1 SIGKILLed mid-burst: first tries "
                f"{dict(first_try)}; instances {len(alive)}, running {GPUS - lost}, create jobs "
                f"{len(jobs)} (unsent {unsent}), jobs lost {lost + unsent}")  # fmt: skip
    assert per_instance == Counter(dict.fromkeys(ids, 1)), "one create job per instance"
    assert lost == 0 and unsent == 0 and sorted(alive) == sorted(ids)  # none twice
    totals = check_invariants(fleet.db)
    assert totals["gpus_free"] == 0
    delete_all(fleet, list(zip(ids, callers, strict=True)))
