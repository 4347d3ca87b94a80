"""A root password reaches the guest's agent and nowhere else in clear (issue 13).

Real parts: gunicorn, PostgreSQL, RabbitMQ, the relay and a host agent (threads). The
agent registers its key at start; a create, a rebuild, a disk create from an image and a
disk password reset each carry a distinctive password. Then no table row (every table,
and `pg_dump`), no job row (checked before the relay sends it, too), no log line
(gunicorn's file, the relay's and the agent's records), no broker message (a tap queue
bound to the exchange the relay publishes to) and no file the agent kept holds one in
clear; the agent opened each. The agent's key is rotated between writing the create and
sending it: the create, sealed to the old key, still opens, the rebuild (new key) too.
"""

import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from kombu import Connection, Queue
from sqlalchemy import select
from sqlalchemy.engine import make_url

from cloudapi.agent import keys, seed
from cloudapi.agent.keys import KeyRing
from cloudapi.agent.main import build_agent
from cloudapi.db.agent_keys import AgentKey
from cloudapi.db.jobs import Job
from cloudapi.jobs import broker
from cloudapi.jobs.relay import Relay
from cloudapi.services import sealing, tokens
from tests.api.test_rebuild import tables_holding
from tests.support.gunicorn import Gunicorn
from tests.support.rabbit import rabbit_url

pytestmark = [pytest.mark.slow,
              pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]  # fmt: skip

MARK = uuid.uuid4().hex[:8]
PASSWORDS = {
    "create": f"Create-{MARK}-Pw1!",
    "rebuild": f"Rebuild-{MARK}-Pw2!",
    "disk_create": f"DiskMade-{MARK}-Pw3!",
    "password_reset": f"Reset-{MARK}-Pw4!",
}
GPU = "g1-gpu-rtx6000-1"


class Tap:
    """A copy of every message the relay publishes for `host`: a queue of the test's own,
    bound to the exchange with the host's routing key (a direct exchange copies to each)."""

    def __init__(self, host):
        self.conn = Connection(rabbit_url(), connect_timeout=5)
        self.channel = self.conn.channel()
        name = f"tap-{host}"
        self.queue = Queue(name, broker.EXCHANGE, routing_key=broker.routing_key(host),
                           auto_delete=True, durable=False)(self.channel)  # fmt: skip
        self.queue.declare()
        self.bodies = []

    def drain(self):
        while (message := self.queue.get(no_ack=True)) is not None:
            body = message.body
            self.bodies.append(body if isinstance(body, str) else bytes(body).decode())
        return self.bodies

    def close(self):
        self.queue.delete()
        self.conn.release()


def wait_for(what, check, timeout=40):
    start = time.monotonic()
    while not (found := check()):
        assert time.monotonic() - start < timeout, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def jobs_done(db, host, count):
    with db.reader() as session:
        jobs = session.scalars(select(Job).where(Job.host == host)).all()
    return len(jobs) == count and all(j.state in ("done", "error") for j in jobs) and jobs


def pg_dump(url):
    if shutil.which("pg_dump") is None:
        return ""
    parsed = make_url(url).set(drivername="postgresql")
    done = subprocess.run(["pg_dump", "--data-only", parsed.render_as_string(hide_password=False)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_nowhere(texts, where):
    for name, secret in PASSWORDS.items():
        assert secret not in texts, f"the {name} password is in clear in {where}"


def test_passwords_reach_the_agent_sealed_and_nowhere_in_clear(
    app, add_host, make_account, rabbit, db, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    host = add_host(rabbit.host("gpu"))
    _, headers = make_account(tags=("employee",))
    customer = headers["Authorization"].split()[1]
    with db.transaction() as session:
        agent_token = tokens.create(session, host=host)
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "BROKER_URL": rabbit_url(),
           "RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off"}  # fmt: skip
    stop, tap = threading.Event(), Tap(host)
    state = tmp_path / "agent"
    with Gunicorn(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        agent = build_agent(host, server.url, agent_token, rabbit_url(), state, 0.2)
        opened, real_open = [], agent.keyring.open
        agent.keyring.open = lambda payload: opened.append(real_open(payload)) or opened[-1]
        assert keys.register(agent)["key_id"] == agent.keyring.current  # as run_agent does
        first_key = agent.keyring.current
        threads = [threading.Thread(target=agent.run, args=(stop,))]
        threads[0].start()
        try:
            made = server.post("/v4/linode/instances", customer, {
                "type": GPU, "region": "us-east", "image": "linode/debian12",
                "root_pass": PASSWORDS["create"], "label": f"sealed-{MARK}"})  # fmt: skip
            assert made.status_code == 200, made.text
            linode = made.json()["id"]
            with db.reader() as session:  # written, not sent: sealed in its row already
                (create,) = session.scalars(select(Job).where(Job.host == host)).all()
            assert create.payload["root_pass"]["key_id"] == first_key
            assert tables_holding(db, PASSWORDS["create"]) == set()

            # A rotation now: the create is sealed to the old key and not yet sent.
            ring = KeyRing(state / "keys")  # as `cloudapi agent-keys rotate` does
            new_key = ring.rotate()
            sealing.register(db, host, {"public_key": ring.public_key})

            relay = Relay(db, rabbit_url())
            threads.append(threading.Thread(target=relay.run_forever,
                                            kwargs={"poll": 0.2, "stop_event": stop}))  # fmt: skip
            threads[-1].start()
            wait_for("the create", lambda: jobs_done(db, host, 1))
            url = f"/v4/linode/instances/{linode}"
            wait_for("running", lambda: server.get(url, customer).json()["status"] == "running")
            rebuilt = server.post(
                f"{url}/rebuild",
                customer,
                {"image": "linode/ubuntu24.04", "root_pass": PASSWORDS["rebuild"]},
            )
            assert rebuilt.status_code == 200, rebuilt.text
            wait_for("the rebuild", lambda: jobs_done(db, host, 2))

            empty = server.post(
                "/v4/linode/instances",
                customer,
                {"type": GPU, "region": "us-east", "label": f"empty-{MARK}"},
            )
            assert empty.status_code == 200, empty.text
            disks = f"/v4/linode/instances/{empty.json()['id']}/disks"
            wait_for("the empty create", lambda: jobs_done(db, host, 3))
            disk = server.post(
                disks,
                customer,
                {"size": 2000, "image": "linode/debian12", "root_pass": PASSWORDS["disk_create"]},
            )
            assert disk.status_code == 200, disk.text
            wait_for("the disk create", lambda: jobs_done(db, host, 4))
            reset = server.post(
                f"{disks}/{disk.json()['id']}/password",
                customer,
                {"password": PASSWORDS["password_reset"]},
            )
            assert reset.status_code == 200, reset.text
            finished = wait_for("the password reset", lambda: jobs_done(db, host, 5))
            assert all(j.state == "done" for j in finished), [(j.action, j.state) for j in finished]
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
        server_log = server.log_tail(chars=10_000_000)

    # The agent opened each, with the key it was sealed to (the old one for the create).
    got = {p.get("root_pass") or p.get("password") for p in opened}
    assert set(PASSWORDS.values()) <= got
    create_opened = next(p for p in opened if p.get("root_pass") == PASSWORDS["create"])
    assert PASSWORDS["create"].encode() in seed.nocloud_iso(create_opened)  # the guest's seed
    with db.reader() as session:
        registered = session.scalars(select(AgentKey.key_id).where(AgentKey.agent == host)).all()
    assert set(registered) == {first_key, new_key}

    messages = tap.drain()
    tap.close()
    assert len(messages) == 5 and all('"sealed"' in m for m in messages[:2])
    assert f'"key_id": "{first_key}"' in messages[0] and f'"key_id": "{new_key}"' in messages[1]
    assert_nowhere("\n".join(messages), "a broker message")
    for name, secret in PASSWORDS.items():
        assert tables_holding(db, secret) == set(), f"the {name} password is in a table"
    assert_nowhere(pg_dump(app.config["DATABASE_URL"]), "pg_dump")
    assert_nowhere(server_log, "gunicorn's log")
    assert caplog.records and "consuming" in caplog.text
    assert_nowhere(caplog.text, "the relay's and agent's log records")
    kept = "\n".join(p.read_text(errors="replace") for p in state.rglob("*") if p.is_file())
    assert_nowhere(kept, "the agent's state folder")


def test_agent_keys_rotate_adds_a_pair_and_registers_it(app, db, tmp_path):
    state = tmp_path / "agent"
    first = KeyRing(state / "keys")
    first_id = first.current
    sealing.register(db, "pool.us-east", {"public_key": first.public_key})
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"]}
    cli = str(Path(sys.executable).with_name("cloudapi"))
    args = [cli, "agent-keys", "rotate", "--host", "pool.us-east", "--state-dir", str(state)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ring = KeyRing(state / "keys")
    assert ring.current != first_id and f"new key {ring.current} registered" in done.stdout
    with db.reader() as session:
        assert sealing.newest_key(session, "pool.us-east").key_id == ring.current
    assert sorted(p.stem for p in (state / "keys").glob("*.key")) == sorted(
        [first_id, ring.current]
    )
