"""Faults between the outbox, the relay, RabbitMQ and the agent: at least once, run once.

These run on a real RabbitMQ (``tests/support/rabbit.py``) and on each test database.
Reports go to a recording reporter rather than the API, so that only the queue path is
under test here.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from cloudapi.agent.consumer import Agent
from cloudapi.agent.driver import SimulatedDriver
from cloudapi.agent.main import run_agent
from cloudapi.db.instances import Instance
from cloudapi.db.jobs import Job
from cloudapi.jobs import broker
from cloudapi.jobs.relay import Relay, run_relay
from cloudapi.services import tokens
from tests.support.rabbit import TcpProxy, rabbit_namespace, rabbit_url

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


# -- helpers -----------------------------------------------------------------------------


class RecordingReporter:
    """Keeps reports in memory, or appends them to a JSON-lines file (for subprocesses)."""

    def __init__(self, path=None):
        self.path = path
        self.reports = []
        self.lock = threading.Lock()

    def report(self, job_id, status, percent_complete=None, instance_status=None, message=None):
        entry = {"job_id": job_id, "status": status, "percent_complete": percent_complete,
                 "instance_status": instance_status, "message": message}  # fmt: skip
        with self.lock:
            self.reports.append(entry)
            if self.path:
                with open(self.path, "a") as file:
                    file.write(json.dumps(entry) + "\n")

    def close(self):
        pass


def read_reports(path):
    try:
        return [json.loads(line) for line in Path(path).read_text().splitlines() if line]
    except FileNotFoundError:
        return []


def statuses(reports, job_id):
    return [r["status"] for r in reports if r["job_id"] == job_id]


def render(payload):
    return f"<domain type='kvm'><name>linode{payload['instance_id']}</name></domain>"


def make_agent(host, url, state_dir, boot_seconds=0.05, reporter=None):
    driver = SimulatedDriver(Path(state_dir) / "domains", boot_seconds=boot_seconds)
    return Agent(host, url, reporter or RecordingReporter(), driver, state_dir, render_xml=render)


def wait_for(condition, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    """Run an agent (or a relay's run_forever) in a thread until the block ends."""

    def __init__(self, target):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=target, kwargs={"stop_event": self.stop},
                                       daemon=True)  # fmt: skip

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive()


def make_instance(db, account_id, label=None):
    with db.transaction() as session:
        instance = Instance(
            account_id=account_id,
            label=label or f"l{uuid.uuid4().hex[:12]}",
            type_id="g6-nanode-1",
            region_id="us-east",
            status="provisioning",
        )
        session.add(instance)
        session.flush()
        return instance.id


def add_job(db, instance_id, host, action="create", **payload):
    if action == "create":
        payload = {"instance_id": instance_id, "booted": True, "region": "us-east", **payload}
    else:
        payload = {"instance_id": instance_id}
    job_id = str(uuid.uuid4())
    # Sub-second `created`, so that jobs written within one second keep their order (the
    # API's utcnow() has whole seconds; the relay orders by created, then id).
    created = datetime.now(UTC).replace(tzinfo=None)
    with db.transaction() as session:
        session.add(Job(id=job_id, instance_id=instance_id, action=action, payload=payload,
                        host=host, created=created))  # fmt: skip
    return job_id


def job_rows(db, ids):
    with db.reader() as session:
        rows = session.scalars(select(Job).where(Job.id.in_(ids)))
        return {j.id: (j.sent_at, j.attempts) for j in rows}


def unsent(db, ids):
    return [i for i, (sent_at, _) in job_rows(db, ids).items() if sent_at is None]


def relay_once(db, url, **kwargs):
    relay = Relay(db, url, **kwargs)
    try:
        return relay.run_once()
    finally:
        relay.close()


@pytest.fixture
def rabbit():
    with rabbit_namespace() as namespace:
        yield namespace


@pytest.fixture
def account(make_account):
    account_id, _headers = make_account()
    return account_id


# -- the relay dies between the broker's confirm and the commit --------------------------


class RelayCrashed(Exception):
    pass


def test_relay_killed_after_publish_delivers_twice_and_runs_once(db, account, rabbit, tmp_path):
    host = rabbit.host()
    instance_id = make_instance(db, account)
    job_id = add_job(db, instance_id, host)

    def crash(jobs):
        assert [j.id for j in jobs] == [job_id]
        raise RelayCrashed()

    with pytest.raises(RelayCrashed):
        relay_once(db, rabbit.url, after_publish=crash)
    assert job_rows(db, [job_id]) == {job_id: (None, 0)}  # not marked: the pass rolled back
    assert rabbit.message_count(host) == 1  # ... but the broker has it

    assert relay_once(db, rabbit.url) == 1  # a restarted relay sends it again
    sent_at, attempts = job_rows(db, [job_id])[job_id]
    assert sent_at is not None and attempts == 1
    assert rabbit.message_count(host) == 2

    agent = make_agent(host, rabbit.url, tmp_path / "agent")
    with Running(agent.run):
        wait_for(lambda: statuses(agent.reporter.reports, job_id).count("finished") == 2,
                 what="both deliveries handled")  # fmt: skip
    # Run once (one define, one boot); the second delivery is only reported again.
    assert agent.driver.history(instance_id) == ["defined", "running"]
    assert statuses(agent.reporter.reports, job_id) == ["started", "started", "finished",
                                                        "finished"]  # fmt: skip
    assert rabbit.message_count(host) == 0  # both acked


# -- the agent dies in the middle of a job -----------------------------------------------


def agent_process_main():
    """Entry point of the agent subprocess: host, broker URL, state dir, reports file, boot s."""
    host, url, state_dir, reports, boot_seconds = sys.argv[1:6]
    logging.basicConfig(level=logging.INFO, format="agent-process %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    agent = make_agent(host, url, state_dir, float(boot_seconds), RecordingReporter(reports))
    agent.run(stop)


def start_agent_process(host, url, state_dir, reports, boot_seconds, log_path):
    code = "from tests.integration.test_job_faults import agent_process_main; agent_process_main()"
    log = open(log_path, "w")  # noqa: SIM115 (closed by the caller through proc.log)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, host, url, str(state_dir), str(reports), str(boot_seconds)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    proc.log = log
    return proc


def stop_process(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.log.close()


def test_agent_killed_mid_job_is_redelivered_and_boots_once(db, account, rabbit, tmp_path, caplog):
    host = rabbit.host()
    instance_id = make_instance(db, account)
    job_id = add_job(db, instance_id, host)
    assert relay_once(db, rabbit.url) == 1

    state_dir, reports = tmp_path / "agent", tmp_path / "reports.jsonl"
    proc = start_agent_process(host, rabbit.url, state_dir, reports, 60, tmp_path / "agent.log")
    try:
        # The agent reports "booting" right before the (60 s) boot: kill it there.
        wait_for(lambda: any(r["instance_status"] == "booting" for r in read_reports(reports)),
                 timeout=30, what=f"the boot to start (see {tmp_path / 'agent.log'})")  # fmt: skip
        proc.kill()
        proc.wait(timeout=10)
    finally:
        stop_process(proc)
    driver = SimulatedDriver(state_dir / "domains")
    assert driver.state(instance_id) == "defined"  # killed before it ran
    assert statuses(read_reports(reports), job_id) == ["started", "started"]
    wait_for(lambda: rabbit.message_count(host) == 1, what="the unacked message to return")

    caplog.set_level(logging.INFO, logger="cloudapi.agent.consumer")
    agent = make_agent(host, rabbit.url, state_dir, reporter=RecordingReporter(reports))
    with Running(agent.run):
        wait_for(lambda: "finished" in statuses(read_reports(reports), job_id),
                 what="the redelivered job to finish")  # fmt: skip
    assert f"job {job_id} redelivered" in caplog.text
    assert driver.state(instance_id) == "running"
    assert driver.history(instance_id) == ["defined", "running"]  # running once
    assert statuses(read_reports(reports), job_id).count("finished") == 1
    assert rabbit.message_count(host) == 0


# -- RabbitMQ unreachable ----------------------------------------------------------------


def test_broker_unreachable_keeps_jobs_then_sends_each_once(db, account, rabbit, tmp_path):
    first_host, host = rabbit.host("warm"), rabbit.host()
    instance_id = make_instance(db, account)
    target = rabbit_url().split("@", 1)[-1].split("/", 1)[0]
    target_host, _, target_port = target.partition(":")
    with TcpProxy(target_host, int(target_port or 5672)) as proxy:
        relay = Relay(db, proxy.url())
        try:
            add_job(db, instance_id, first_host)
            assert relay.run_once() == 1  # the relay is connected through the proxy

            proxy.stop()  # the broker becomes unreachable; open connections are cut
            ids = [add_job(db, instance_id, host, "reboot") for _ in range(10)]
            assert relay.run_once() == 0
            assert relay.broker_ok is False
            assert sorted(unsent(db, ids)) == sorted(ids)
            assert all(attempts == 0 for _, attempts in job_rows(db, ids).values())

            # run_forever keeps retrying (with backoff) until the broker is back.
            with Running(lambda stop_event: relay.run_forever(poll=0.05, stop_event=stop_event)):
                time.sleep(0.5)
                assert sorted(unsent(db, ids)) == sorted(ids)
                proxy.start()
                wait_for(lambda: not unsent(db, ids), what="the relay to send the backlog")
        finally:
            relay.close()
    assert all(attempts == 1 for _, attempts in job_rows(db, ids).values())
    messages = rabbit.take(host)
    delivered = [json.loads(m.body)["job_id"] for m in messages]
    assert sorted(delivered) == sorted(ids)  # each exactly once
    assert [m.properties["message_id"] for m in messages] == delivered
    assert all(m.properties["delivery_mode"] == 2 for m in messages)


# -- poison messages ---------------------------------------------------------------------


def test_poison_messages_are_dead_lettered_and_the_agent_goes_on(db, account, rabbit, tmp_path):
    host = rabbit.host()
    poison = [
        b"not json{",
        json.dumps(
            {"job_id": "p-1", "action": "rescue", "instance_id": 1, "host": host, "payload": {}}
        ).encode(),  # fmt: skip
        json.dumps({"job_id": "p-2", "host": host}).encode(),
    ]
    for body in poison:
        rabbit.publish_raw(host, body)
    instance_id = make_instance(db, account)
    job_id = add_job(db, instance_id, host)
    assert relay_once(db, rabbit.url) == 1

    agent = make_agent(host, rabbit.url, tmp_path / "agent")
    with Running(agent.run):
        wait_for(lambda: "finished" in statuses(agent.reporter.reports, job_id),
                 what="the valid job to finish")  # fmt: skip
    assert agent.driver.history(instance_id) == ["defined", "running"]
    assert [r["job_id"] for r in agent.reporter.reports] == [job_id] * 3

    dead = []
    wait_for(lambda: dead.extend(rabbit.take_dead()) or len(dead) >= 3, what="3 dead letters")
    assert sorted(m.body for m in dead) == sorted(poison)
    for message in dead:
        death = message.headers["x-death"][0]
        assert death["queue"] == broker.routing_key(host)
        assert death["reason"] == "rejected"
    assert rabbit.message_count(host) == 0


# -- more than one relay -----------------------------------------------------------------


def test_concurrent_relays_send_each_job_once(db, account, rabbit):
    host = rabbit.host()
    instance_id = make_instance(db, account)
    ids = [add_job(db, instance_id, host, "boot") for _ in range(120)]
    relays = [Relay(db, rabbit.url, batch=15) for _ in range(3)]

    def drain(relay):
        while unsent(db, ids):
            relay.run_once()

    threads = [threading.Thread(target=drain, args=(r,)) for r in relays]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for relay in relays:
            relay.close()
    assert all(attempts == 1 for _, attempts in job_rows(db, ids).values())
    delivered = [json.loads(m.body)["job_id"] for m in rabbit.take(host)]
    assert sorted(delivered) == sorted(ids)


# -- the embedded default: no server, two processes --------------------------------------


def test_embedded_broker_works_between_processes(db, account, tmp_path):
    url = broker.default_url(tmp_path / "broker")
    (tmp_path / "broker").mkdir()
    host = f"embedded-{uuid.uuid4().hex[:8]}"
    instance_id = make_instance(db, account)
    relay = Relay(db, url)
    relay.run_once()  # nothing yet
    reports = tmp_path / "reports.jsonl"
    proc = start_agent_process(host, url, tmp_path / "agent", reports, 0.05, tmp_path / "agent.log")
    try:
        create = add_job(db, instance_id, host)
        shutdown = add_job(db, instance_id, host, "shutdown")
        assert relay.run_once() == 2
        wait_for(lambda: "finished" in statuses(read_reports(reports), shutdown), timeout=30,
                 what=f"the agent process to run both (see {tmp_path / 'agent.log'})")  # fmt: skip
    finally:
        relay.close()
        stop_process(proc)
    assert proc.returncode == 0
    assert statuses(read_reports(reports), create) == ["started", "started", "finished"]
    driver = SimulatedDriver(tmp_path / "agent" / "domains")
    assert driver.history(instance_id) == ["defined", "running", "shut off"]


# -- end to end: the API, the relay, RabbitMQ, the agent, reports back to the API --------


def test_gpu_create_reaches_running_through_the_agent(
    live_server, add_host, employee, db, rabbit, tmp_path
):
    host = rabbit.adopt(add_host(f"gpu-{rabbit.tag}.us-east"))
    _, headers = employee
    body = {"region": "us-east", "image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x",
            "type": "g1-gpu-rtx6000-1"}  # fmt: skip
    created = requests.post(f"{live_server.url}/v4/linode/instances", json=body,
                            headers=headers, timeout=30)  # fmt: skip
    assert created.status_code == 200, created.text
    linode = created.json()
    with db.transaction() as session:
        token = tokens.create(session, host=host)
    assert relay_once(db, rabbit.url) == 1

    def status():
        url = f"{live_server.url}/v4/linode/instances/{linode['id']}"
        return requests.get(url, headers=headers, timeout=10).json()["status"]

    state_dir = tmp_path / "agent"
    agent = lambda stop_event: run_agent(  # noqa: E731
        host, live_server.url, token, rabbit.url, state_dir, 0.05, stop_event=stop_event
    )
    with Running(agent):
        wait_for(lambda: status() == "running", what="the instance to run")
    driver = SimulatedDriver(state_dir / "domains")
    assert driver.history(linode["id"]) == ["defined", "running"]
    assert "<hostdev" in driver.xml(linode["id"])  # the real renderer, with the GPU
    events = requests.get(f"{live_server.url}/v4/account/events", headers=headers, timeout=10)
    (event,) = [e for e in events.json()["data"] if e["action"] == "linode_create"]
    assert event["status"] == "finished" and event["percent_complete"] == 100


def test_run_relay_sends_until_stopped(app, db, account, tmp_path):
    url = broker.default_url(tmp_path)
    host = f"embedded-{uuid.uuid4().hex[:8]}"
    ids = [add_job(db, make_instance(db, account), host, "boot") for _ in range(3)]
    database_url = app.config["DATABASE_URL"]
    with Running(lambda stop_event: run_relay(database_url, url, 0.05, stop_event=stop_event)):
        wait_for(lambda: not unsent(db, ids), what="the relay to send")
    with broker.connection(url) as conn:
        conn.connect()
        queue = broker.host_queue(host).bind(conn.channel())
        bodies = []
        while (message := queue.get(no_ack=True)) is not None:
            bodies.append(json.loads(message.body))
    assert [b["job_id"] for b in bodies] == ids
    instance_id = bodies[0]["instance_id"]
    assert bodies[0] == {"job_id": ids[0], "action": "boot", "instance_id": instance_id,
                         "host": host, "payload": {"instance_id": instance_id}}  # fmt: skip
