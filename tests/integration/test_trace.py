"""One trace id from request to domain, on real parts: `cloudapi serve`, `cloudapi relay`
and `cloudapi agent` (simulated driver) as processes, RabbitMQ, each logging JSON lines to
its own file; then `cloudapi jobs trace ID --logs DIR` shows the whole path."""

import json
import os
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from cloudapi.agent.domain_xml import METADATA_NS, render
from cloudapi.jobs import trace as tracer
from cloudapi.services import tokens
from tests.integration.test_end_to_end import BODY, wait_status
from tests.support.gunicorn import Gunicorn
from tests.support.rabbit import rabbit_url
from tests.unit.test_domain_xml import two_gpus_on_node1

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("cloudapi"))
STEPS = ("prepare", "render", "define", "start")


def start(args, env, log_path):
    log = open(log_path, "w")  # noqa: SIM115 (closed by stop())
    proc = subprocess.Popen([CLI, *args], env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    proc.log = log
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.log.close()


def wait_for_line(path, text, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        assert proc.poll() is None, f"{path.name}: exited\n{path.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no {text!r} in {path.name}:\n{path.read_text()}"
        time.sleep(0.1)


def test_a_gpu_create_traced_from_request_to_domain(app, add_host, make_account, rabbit, db,
                                                    tmp_path):  # fmt: skip
    host = rabbit.host("trace")
    add_host(host)
    _, headers = make_account(tags=("employee",))
    customer = headers["Authorization"].split()[1]
    with db.transaction() as session:
        agent_token = tokens.create(session, host=host)
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "BROKER_URL": rabbit_url(),
           "RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off",
           "AGENT_STATE_DIR": str(tmp_path / "agents"), "AGENT_TOKEN": agent_token}  # fmt: skip
    request_id = f"gpu-create-{uuid.uuid4().hex[:12]}"
    with Gunicorn(env, workers=1, log_path=logs / "api.log") as server:
        parts = [start(["relay", "--poll", "0.2"], env, logs / "relay.log"),
                 start(["agent", "--host", host, "--api", server.url, "--boot-seconds", "0.3"],
                       env, logs / "agent.log")]  # fmt: skip
        try:
            wait_for_line(logs / "agent.log", "consuming", parts[1])
            made = _post(server, customer, request_id)
            assert made.status_code == 200, made.text
            assert made.headers["X-Request-Id"] == request_id
            instance_id = made.json()["id"]
            wait_status(server, customer, instance_id, "running")
            wait_for_line(logs / "agent.log", "finished; the job is done", parts[1])
        finally:
            for proc in parts:
                stop(proc)

    shown = subprocess.run([CLI, "jobs", "trace", request_id, "--logs", str(logs)],
                           env={**os.environ, **env}, capture_output=True, text=True,
                           timeout=60)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    print(f"\n$ cloudapi jobs trace {request_id} --logs {logs}\n{shown.stdout}")
    with db.reader() as session:
        (job,) = tracer.read(session, request_id)
    assert (job["action"], job["instance_id"], job["state"]) == ("create", instance_id, "done")
    assert job["sent"] and job["finished"] and job["attempts"] == 1
    (event,) = job["events"]
    assert (event["action"], event["status"], event["percent_complete"]) == (
        "linode_create", "finished", 100)  # fmt: skip
    text = shown.stdout
    assert f"request {request_id}: 1 job" in text
    assert f"job {job['id']} create linode {instance_id} on {host}: done, 1 send" in text
    assert "event" in text and "linode_create: finished 100%" in text

    lines = tracer.log_lines(logs, request_id, [job["id"]])
    assert lines and all(line["request_id"] == request_id for line in lines)
    by_component = {
        c: [x for x in lines if x.get("component") == c] for c in ("api", "relay", "agent")
    }
    (create,) = [x for x in by_component["api"] if x.get("route") == "/v4/linode/instances"]
    assert create["msg"] == "POST /v4/linode/instances 200" and create["status"] == 200
    assert create["account_id"] and create["logger"] == "gunicorn.access"
    (sent,) = by_component["relay"]
    assert sent["job_id"] == job["id"] and sent["outcome"] == "sent"
    agent = by_component["agent"]
    assert [x["step"] for x in agent if x.get("step")] == list(STEPS)
    assert all(x["job_id"] == job["id"] and x["host"] == host for x in agent)
    reports = [(x["report"], x["state"]) for x in agent if x.get("report")]
    assert reports == [("started", "running"), ("started", "running"), ("finished", "done")]
    progress = [x for x in by_component["api"] if x.get("route", "").startswith("/internal")]
    assert len(progress) == 3 and {x["status"] for x in progress} == {200}
    assert [x["ts"] for x in lines] == sorted(x["ts"] for x in lines)
    for needle in ("POST /v4/linode/instances 200", "relay: sent job", ": prepare", ": start",
                   "reported job", "POST /internal/jobs/"):  # fmt: skip
        assert needle in text, needle

    domain = tmp_path / "agents" / host / "domains" / str(instance_id) / "domain.xml"
    meta = ET.parse(domain).getroot().find(f"metadata/{{{METADATA_NS}}}instance")
    assert meta.attrib["id"] == str(instance_id)
    assert meta.attrib["job"] == job["id"] and meta.attrib["request"] == request_id


def _post(server, token, request_id):
    headers = {"Authorization": f"Bearer {token}", "X-Request-Id": request_id}
    return requests.post(f"{server.url}/v4/linode/instances", json=BODY, headers=headers,
                         timeout=10)  # fmt: skip


def test_the_domain_metadata_names_instance_job_and_request():
    payload = {**two_gpus_on_node1(), "job_id": "0b6c6f2e-5d1a-4a57-9d7e-1c2b3a4d5e6f",
               "request_id": "req-1"}  # fmt: skip
    meta = ET.fromstring(render(payload)).find(f"metadata/{{{METADATA_NS}}}instance")
    assert meta.attrib == {
        "id": "123",
        "type": "g1-gpu-rtx6000-2",
        "region": "us-east",
        "disk_mb": "1310720",
        "job": payload["job_id"],
        "request": "req-1",
    }
    bare = ET.fromstring(render(two_gpus_on_node1())).find(f"metadata/{{{METADATA_NS}}}instance")
    assert "job" not in bare.attrib and "request" not in bare.attrib


def test_log_lines_are_read_from_a_folder_and_filtered(tmp_path):
    (tmp_path / "a.log").write_text("\n".join([
        json.dumps({"ts": "2026-01-01T00:00:02.000000Z", "msg": "two", "job_id": "j1"}),
        "not json: a traceback line",
        json.dumps({"ts": "2026-01-01T00:00:01.000000Z", "msg": "one", "request_id": "r1"}),
        json.dumps({"ts": "2026-01-01T00:00:00.000000Z", "msg": "other", "request_id": "r2"}),
    ]))  # fmt: skip
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.log").write_text(
        json.dumps({"ts": "2026-01-01T00:00:03.000000Z", "msg": "three", "request_id": "r1"})
    )
    found = tracer.log_lines(tmp_path, "r1", ["j1"])
    assert [x["msg"] for x in found] == ["one", "two", "three"]
