"""The whole chain on real parts: gunicorn, PostgreSQL/SQLite, RabbitMQ, relay, host agent."""

import shutil
import subprocess
import threading
import time

import pytest

from cloudapi.agent.main import run_agent
from cloudapi.jobs.relay import Relay
from cloudapi.services import tokens
from tests.support.gunicorn import Gunicorn
from tests.support.inventory import check_invariants
from tests.support.rabbit import rabbit_url

pytestmark = pytest.mark.slow

BODY = {"type": "g1-gpu-rtx6000-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": "Gpu-Demo-2026!x"}  # fmt: skip


def wait_status(server, token, instance_id, wanted, timeout=30):
    start = time.monotonic()
    while True:
        status = server.get(f"/v4/linode/instances/{instance_id}", token).json()["status"]
        if status == wanted:
            return time.monotonic() - start
        assert time.monotonic() - start < timeout, f"stuck in {status}, wanted {wanted}"
        time.sleep(0.1)


def test_create_to_running_and_back_through_rabbitmq(app, add_host, make_account, rabbit, db,
                                                     tmp_path):  # fmt: skip
    host = rabbit.host("gpu")  # a unique host name, so its queue is this test's own
    add_host(host)
    _, headers = make_account(tags=("employee",))
    customer = headers["Authorization"].split()[1]
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "BROKER_URL": rabbit_url(),
           "RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off"}  # fmt: skip
    with db.transaction() as session:
        agent_token = tokens.create(session, host=host)
    stop = threading.Event()
    with Gunicorn(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        relay = Relay(db, rabbit_url())
        parts = [
            threading.Thread(target=relay.run_forever, kwargs={"poll": 0.2, "stop_event": stop}),
            threading.Thread(target=run_agent, args=(host, server.url, agent_token, rabbit_url(),
                             tmp_path / "agent"), kwargs={"boot_seconds": 0.3, "stop_event": stop}),
        ]  # fmt: skip
        for part in parts:
            part.start()
        try:
            start = time.monotonic()
            made = server.post("/v4/linode/instances", customer, BODY)
            assert made.status_code == 200 and made.json()["status"] == "provisioning"
            instance_id = made.json()["id"]
            wait_status(server, customer, instance_id, "running")
            took = time.monotonic() - start
            events = server.get("/v4/account/events", customer).json()["data"]
            (create,) = [e for e in events if e["action"] == "linode_create"]
            assert create["status"] == "finished" and create["percent_complete"] == 100

            xml = tmp_path / "agent" / "domains" / str(instance_id) / "domain.xml"
            text = xml.read_text()
            assert text.count("<hostdev ") == 4 and 'mode="strict"' in text
            if shutil.which("virt-xml-validate"):
                check = subprocess.run(["virt-xml-validate", str(xml), "domain"],
                                       capture_output=True, text=True)  # fmt: skip
                assert check.returncode == 0, check.stderr

            url = f"/v4/linode/instances/{instance_id}"
            assert server.post(f"{url}/shutdown", customer, {}).status_code == 200
            wait_status(server, customer, instance_id, "offline")
            assert server.post(f"{url}/boot", customer, {}).status_code == 200
            wait_status(server, customer, instance_id, "running")
            deleted = server.delete(url, customer)
            assert deleted.status_code == 200
            assert check_invariants(db)["gpus_free"] == 8
            print(f"\n[create-to-running] {took:.2f} s via RabbitMQ, relay and agent")
        finally:
            stop.set()
            for part in parts:
                part.join(timeout=15)
