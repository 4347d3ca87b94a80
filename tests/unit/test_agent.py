"""The host agent's consumer logic, on kombu's in-memory transport and a simulated driver."""

import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cloudapi.agent.consumer import Agent, DoneJobs, PoisonMessage, parse
from cloudapi.agent.driver import SimulatedDriver
from cloudapi.agent.reporter import Reporter, ReportError
from cloudapi.jobs import broker

MEMORY = "memory://"


class RecordingReporter:
    """Keeps every report; `fail` makes the next reports raise like an unreachable API."""

    def __init__(self, log=None):
        self.reports = []
        self.log = log if log is not None else []
        self.fail = 0

    def report(self, job_id, status, percent_complete=None, instance_status=None, message=None):
        if self.fail:
            self.fail -= 1
            raise ReportError("API unreachable")
        entry = {"job_id": job_id, "status": status}
        optional = {"percent_complete": percent_complete, "instance_status": instance_status,
                    "message": message}  # fmt: skip
        entry.update((name, value) for name, value in optional.items() if value is not None)
        self.reports.append(entry)
        self.log.append(("report", status))

    def statuses(self, job_id):
        return [r["status"] for r in self.reports if r["job_id"] == job_id]


class LoggingDriver(SimulatedDriver):
    """The simulated driver, noting each call in a shared log; `broken` makes calls fail."""

    def __init__(self, state_dir, log, broken=()):
        super().__init__(state_dir, boot_seconds=0)
        self.log = log
        self.broken = set(broken)

    def _call(self, name, *args):
        self.log.append(("driver", name))
        if name in self.broken:
            raise RuntimeError(f"{name} refused by the hypervisor")
        return getattr(super(), name)(*args)

    def define(self, instance_id, xml):
        return self._call("define", instance_id, xml)

    def start(self, instance_id):
        return self._call("start", instance_id)

    def stop(self, instance_id):
        return self._call("stop", instance_id)

    def reboot(self, instance_id):
        return self._call("reboot", instance_id)

    def destroy(self, instance_id):
        return self._call("destroy", instance_id)


class FakeMessage:
    """A delivered message: records ack / reject / requeue in the shared log."""

    def __init__(self, body, log, redelivered=False):
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.log = log
        self.properties = {"message_id": "m"}
        self.delivery_info = {"redelivered": redelivered}

    def ack(self):
        self.log.append(("message", "ack"))

    def reject(self, requeue=False):
        self.log.append(("message", "reject", requeue))

    def requeue(self):
        self.log.append(("message", "requeue"))


def job(action="create", instance_id=7, **payload):
    base = {"instance_id": instance_id, "booted": True} if action == "create" else {}
    return {"job_id": str(uuid.uuid4()), "action": action, "instance_id": instance_id,
            "host": "h", "payload": {**base, **payload}}  # fmt: skip


def render(payload):
    return f"<domain><name>linode{payload['instance_id']}</name></domain>"


@pytest.fixture
def log():
    return []


@pytest.fixture
def make_agent(tmp_path, log):
    def make(host="h", broker_url=MEMORY, broken=(), state_dir=None):
        state = state_dir or tmp_path / "agent"
        driver = LoggingDriver(state / "domains", log, broken)
        return Agent(host, broker_url, RecordingReporter(log), driver, state, render_xml=render)

    return make


# -- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json{",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps({"action": "boot", "instance_id": 1, "payload": {}}).encode(),
        json.dumps({"job_id": "j", "action": "boot", "instance_id": "1", "payload": {}}).encode(),
        json.dumps({"job_id": "j", "action": "boot", "instance_id": True, "payload": {}}).encode(),
        json.dumps({"job_id": "j", "action": "boot", "instance_id": 1}).encode(),
        json.dumps({"job_id": "j", "action": "rescue", "instance_id": 1, "payload": {}}).encode(),
    ],
)
def test_poison_bodies_are_refused(body):
    with pytest.raises(PoisonMessage):
        parse(body)


def test_a_job_parses_from_bytes_or_text():
    one = job()
    assert parse(json.dumps(one).encode()) == one
    assert parse(json.dumps(one)) == one


# -- one message -------------------------------------------------------------------------


def test_create_runs_reports_and_acks_only_after_done(make_agent, log):
    agent = make_agent()
    one = job()
    agent.handle(FakeMessage(one, log))
    assert log == [
        ("report", "started"), ("driver", "define"), ("report", "started"),
        ("driver", "start"), ("report", "finished"), ("message", "ack"),
    ]  # fmt: skip
    reports = agent.reporter.reports
    assert reports[0] == {"job_id": one["job_id"], "status": "started", "percent_complete": 10}
    assert reports[1] == {"job_id": one["job_id"], "status": "started", "percent_complete": 50,
                          "instance_status": "booting"}  # fmt: skip
    assert agent.driver.state(7) == "running"
    assert agent.driver.xml(7) == render({"instance_id": 7})


def test_a_create_not_booted_only_defines(make_agent, log):
    agent = make_agent()
    agent.handle(FakeMessage(job(booted=False), log))
    assert ("driver", "start") not in log
    assert agent.driver.state(7) == "defined"
    assert agent.reporter.statuses(agent.reporter.reports[0]["job_id"]) == ["started", "finished"]


def test_a_job_seen_before_is_acked_without_running(make_agent, log, tmp_path):
    agent = make_agent()
    one = job()
    agent.handle(FakeMessage(one, log))
    log.clear()
    agent.handle(FakeMessage(one, log, redelivered=True))
    assert log == [("report", "finished"), ("message", "ack")]
    # A restarted agent (same state folder) remembers it too.
    again = make_agent()
    log.clear()
    again.handle(FakeMessage(one, log))
    assert log == [("report", "finished"), ("message", "ack")]
    assert again.driver.history(7) == ["defined", "running"]


def test_done_jobs_survive_a_torn_last_line(tmp_path):
    done = DoneJobs(tmp_path / "done-jobs")
    done.add("a", "finished")
    done.add("b", "failed", "no disk")
    with open(tmp_path / "done-jobs", "a") as file:
        file.write('{"job_id": "c", "sta')  # killed while writing
    again = DoneJobs(tmp_path / "done-jobs")
    assert again.get("a") == ("finished", None)
    assert again.get("b") == ("failed", "no disk")
    assert "c" not in again and len(again) == 2


@pytest.mark.parametrize(
    "body",
    [b"not json{", json.dumps({**job(), "action": "rescue"}).encode(),
     json.dumps({"job_id": "x"}).encode()],
)  # fmt: skip
def test_poison_is_rejected_without_requeue(make_agent, log, body):
    agent = make_agent()
    agent.handle(FakeMessage(body, log))
    assert log == [("message", "reject", False)]
    assert len(agent.done) == 0


def test_a_driver_error_is_reported_failed_and_acked(make_agent, log):
    agent = make_agent(broken={"start"})
    one = job()
    agent.handle(FakeMessage(one, log))
    assert log[-2:] == [("report", "failed"), ("message", "ack")]
    failed = agent.reporter.reports[-1]
    assert failed["message"] == "start refused by the hypervisor"
    # Seen again: the same outcome is reported, nothing runs.
    log.clear()
    agent.handle(FakeMessage(one, log))
    assert log == [("report", "failed"), ("message", "ack")]
    assert agent.reporter.reports[-1]["message"] == "start refused by the hypervisor"


def test_power_actions_call_the_driver(make_agent, log):
    agent = make_agent()
    agent.handle(FakeMessage(job(), log))
    steps = [("shutdown", "stop", "shut off"), ("boot", "start", "running"),
             ("reboot", "reboot", "running"), ("delete", "destroy", None)]  # fmt: skip
    for action, call, state in steps:
        log.clear()
        agent.handle(FakeMessage(job(action), log))
        assert log == [("driver", call), ("report", "finished"), ("message", "ack")]
        assert agent.driver.state(7) == state
    log.clear()
    agent.handle(FakeMessage(job("boot"), log))  # the domain is gone
    assert log[-2:] == [("report", "failed"), ("message", "ack")]


def test_an_unreported_outcome_keeps_the_message(make_agent, log):
    agent = make_agent()
    agent._report_backoff = 0.01
    one = job("create")
    agent.reporter.fail = 4  # both progress reports and the final one (and its retry)
    agent.handle(FakeMessage(one, log))
    assert log[-1] == ("message", "requeue")
    assert agent.done.get(one["job_id"]) == ("finished", None)
    log.clear()
    agent.handle(FakeMessage(one, log, redelivered=True))
    assert log == [("message", "requeue")]  # still down
    log.clear()
    agent.handle(FakeMessage(one, log, redelivered=True))
    assert log == [("report", "finished"), ("message", "ack")]
    assert agent.driver.history(7) == ["defined", "running"]


# -- through a broker (kombu's memory transport) ------------------------------------------


def publish(host, *bodies):
    with broker.connection(MEMORY) as conn:
        conn.connect()
        channel = conn.channel()
        broker.declare(channel, host, MEMORY)
        producer = conn.Producer(channel)
        for body in bodies:
            raw = body if isinstance(body, bytes) else json.dumps(body)
            producer.publish(raw, exchange=broker.EXCHANGE, routing_key=broker.routing_key(host),
                             content_type="application/json", content_encoding="utf-8"
                             if isinstance(raw, str) else "binary")  # fmt: skip


def queue_size(host):
    with broker.connection(MEMORY) as conn:
        conn.connect()
        channel = conn.channel()
        return broker.host_queue(host).bind(channel).queue_declare(passive=True).message_count


def run_until(agent, done, timeout=10):
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert done(), f"agent did not get there: {agent.reporter.reports}"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_agent_consumes_dedupes_and_skips_poison(make_agent, log):
    host = f"unit-{uuid.uuid4().hex[:8]}"
    agent = make_agent(host=host)
    one, two = job(instance_id=1), job(instance_id=2)
    publish(host, one, b"not json{", {**job(), "action": "rescue"}, one, two)
    finished = lambda: len([r for r in agent.reporter.reports if r["status"] == "finished"]) == 3  # noqa: E731
    run_until(agent, finished)
    assert agent.reporter.statuses(one["job_id"]) == ["started", "started", "finished", "finished"]
    assert agent.driver.history(1) == ["defined", "running"]
    assert agent.driver.history(2) == ["defined", "running"]
    assert queue_size(host) == 0  # everything acked or rejected


def test_agent_reconnects_after_a_connection_error(make_agent, monkeypatch):
    host = f"unit-{uuid.uuid4().hex[:8]}"
    agent = make_agent(host=host)
    real = broker.connection
    calls = []

    def flaky(url):
        calls.append(url)
        if len(calls) == 1:
            raise ConnectionError("broker down")
        return real(url)

    one = job()
    publish(host, one)
    monkeypatch.setattr("cloudapi.agent.consumer.broker.connection", flaky)
    run_until(agent, lambda: agent.reporter.statuses(one["job_id"])[-1:] == ["finished"])
    assert len(calls) >= 2


# -- the HTTP reporter -------------------------------------------------------------------


class FakeApi(ThreadingHTTPServer):
    """Answers POSTs with the next status of `answers`; keeps what it was sent."""

    def __init__(self, answers):
        super().__init__(("127.0.0.1", 0), FakeApiHandler)
        self.answers = list(answers)
        self.seen = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class FakeApiHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        self.server.seen.append((self.path, self.headers["Authorization"], body))
        status = self.server.answers.pop(0) if self.server.answers else 200
        payload = json.dumps({}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_api():
    servers = []

    def serve(*answers):
        server = FakeApi(answers)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_reporter_posts_progress_with_the_host_token(fake_api):
    api = fake_api()
    reporter = Reporter(api.url + "/", "host-token")
    try:
        reporter.report("j1", "started", percent_complete=50, instance_status="booting")
        reporter.report("j1", "failed", message="no disk")
    finally:
        reporter.close()
    assert api.seen == [
        ("/internal/jobs/j1/progress", "Bearer host-token",
         {"status": "started", "percent_complete": 50, "instance_status": "booting"}),
        ("/internal/jobs/j1/progress", "Bearer host-token",
         {"status": "failed", "message": "no disk"}),
    ]  # fmt: skip


def test_reporter_retries_5xx_drops_404_409_raises_other_4xx(fake_api, caplog):
    api = fake_api(503, 502, 200, 404, 409, 401)
    reporter = Reporter(api.url, "t", pause=0.01)
    try:
        reporter.report("j", "finished")  # two 5xx, then accepted
        assert len(api.seen) == 3
        reporter.report("j", "finished")  # 404: logged, dropped
        reporter.report("j", "finished")  # 409: logged, dropped
        assert "refused (404)" in caplog.text and "refused (409)" in caplog.text
        with pytest.raises(ReportError, match="401"):
            reporter.report("j", "finished")
        assert len(api.seen) == 6
    finally:
        reporter.close()


def test_reporter_gives_up_after_a_few_connection_errors():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    reporter = Reporter(f"http://127.0.0.1:{port}", "t", retries=2, pause=0.01)
    try:
        with pytest.raises(ReportError):
            reporter.report("j", "finished")
    finally:
        reporter.close()
