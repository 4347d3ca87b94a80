"""GET /healthz, /readyz and /metrics: answers, who may scrape, and what the numbers say.

Counters are per process and every app of a test run shares them, so the tests read
them before and after what they do and compare the difference; gauges are read from the
database at scrape time, so their values are this test's own.
"""

import socket
import time
from types import SimpleNamespace

import pytest
import requests
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from cloudapi.agent.main import MeteredAgent
from cloudapi.cli import stack
from cloudapi.observability import checks, health_server
from cloudapi.services import hosts
from tests.support.unleash import free_port
from tests.unit.test_agent import FakeMessage, LoggingDriver, RecordingReporter, job, render

BODY = {"region": "us-east", "image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x"}
CREATES = "/v4/linode/instances"
LAUNCH = "gpu-linodes-launch"


def gpu(n):
    return {**BODY, "type": f"g1-gpu-rtx6000-{n}"}


def scrape(client, headers):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


def samples(text):
    """{(sample name, ((label, value), ...)): value} of a text page."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


# -- health ------------------------------------------------------------------------------


def test_healthz_answers_without_any_dependency(app, make_app):
    broken = make_app(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none",
                      BROKER_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}//")  # fmt: skip
    for client in (app.test_client(), broken.test_client()):
        answer = client.get("/healthz", headers={"Authorization": "Bearer not-a-token"})
        assert (answer.status_code, answer.get_json()) == (200, {"status": "ok"})


def test_readyz_is_200_when_database_and_broker_answer(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"},
                                 "down": []}  # fmt: skip


def test_readyz_is_503_naming_a_broker_that_is_down_and_nothing_else(make_app):
    url = f"amqp://guest:secret-pass@127.0.0.1:{free_port()}//"  # nothing listens there
    answer = make_app(BROKER_URL=url).test_client().get("/readyz")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body == {"status": "unavailable", "checks": {"database": "ok", "broker": "down"},
                    "down": ["broker"]}  # fmt: skip
    raw = answer.get_data(as_text=True)
    assert "127.0.0.1" not in raw and "secret-pass" not in raw and "guest" not in raw


def test_readyz_answers_in_time_when_the_broker_hangs(make_app):
    """A broker that takes the connection and never speaks: `timeout`, within ~1 s."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever answers
        port = silent.getsockname()[1]
        client = make_app(BROKER_URL=f"amqp://guest:guest@127.0.0.1:{port}//").test_client()
        started = time.monotonic()
        answer = client.get("/readyz")
        took = time.monotonic() - started
    assert answer.status_code == 503 and answer.get_json()["checks"]["broker"] == "timeout"
    assert answer.get_json()["down"] == ["broker"]
    assert took < 2.0, took


def test_readyz_checks_redis_when_the_limits_live_there(make_app, redis_limits):
    answer = make_app(**redis_limits).test_client().get("/readyz")
    assert (answer.status_code, answer.get_json()["checks"]["redis"]) == (200, "ok")
    down = {**redis_limits, "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0"}
    answer = make_app(**down).test_client().get("/readyz")
    assert answer.status_code == 503 and answer.get_json()["down"] == ["redis"]


def test_the_unleash_check_is_there_only_when_configured():
    config = {"BROKER_URL": "memory://", "RATELIMIT_STORAGE_URI": "memory://"}
    app = SimpleNamespace(config=config, extensions={"cloudapi.db": None})
    assert set(checks.of_app(app)) == {"database", "broker"}
    app.config = {**config, "UNLEASH_URL": f"http://127.0.0.1:{free_port()}/api"}
    assert set(checks.of_app(app)) == {"database", "broker", "unleash"}
    assert checks.run({"unleash": checks.of_app(app)["unleash"]}) == {"unleash": "down"}


def test_a_health_port_answers_as_the_api_does_and_up_reads_it():
    """The relay's and agents' port (health_server.py), read as `cloudapi up` reads it."""

    def down():
        raise ConnectionError("at amqp://guest:guest@10.0.0.1//")  # logged, never sent

    port = health_server.start("127.0.0.1", 0, {"database": lambda: None, "broker": down})
    try:
        base = f"http://127.0.0.1:{port.port}"
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 503 and "10.0.0.1" not in ready.text
        assert ready.json() == {"status": "unavailable", "down": ["broker"],
                                "checks": {"database": "ok", "broker": "down"}}  # fmt: skip
        assert stack.state_of(f"{base}/readyz") == "unavailable (broker)"
        page = requests.get(f"{base}/metrics", timeout=5)
        assert page.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE cloudapi_jobs_sent_total counter" in page.text
        assert requests.get(f"{base}/nothing", timeout=5).status_code == 404
        port.checks = {"database": lambda: None}
        assert stack.state_of(f"{base}/readyz") == "ready"
    finally:
        port.stop()
    assert stack.state_of(f"http://127.0.0.1:{port.port}/readyz") == "not answering"


# -- who may scrape ------------------------------------------------------------------------


def test_metrics_need_admin_credentials_or_the_metrics_token(make_app, db, customer):
    token = "metrics-token-for-prometheus"
    client = make_app(METRICS_TOKEN=token).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=customer[1]).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scrape(client, {"Authorization": f"Bearer {token}"})
    # Without a METRICS_TOKEN configured, no bearer token is the metrics token.
    other = make_app().test_client()
    assert other.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_an_admin_token_may_scrape(client, admin_headers):
    found = scrape(client, admin_headers)
    assert value(found, "cloudapi_scrape_collector_success", collector="gpus") == 1


# -- what the numbers say ------------------------------------------------------------------


@pytest.fixture
def staff(employee):
    return employee[1]


def test_product_and_queue_metrics_after_a_create_and_a_refusal(client, staff, gpu_hosts, db,
                                                                admin_headers):  # fmt: skip
    hosts.change_status(db, gpu_hosts[1], "maintenance")  # its 8 GPUs: maintenance
    before = scrape(client, admin_headers)
    for _ in range(2):
        assert client.post(CREATES, json=gpu(4), headers=staff).status_code == 200
    refused = client.post(CREATES, json=gpu(1), headers=staff)
    assert refused.status_code == 400
    after = scrape(client, admin_headers)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    for state, count in (("allocated", 8), ("free", 0), ("maintenance", 8)):
        assert value(after, "cloudapi_gpus", region="us-east", state=state) == count, state
    assert value(after, "cloudapi_sellable_instances", plan="g1-gpu-rtx6000-1",
                 region="us-east") == 0  # fmt: skip
    assert ("cloudapi_sellable_instances", (("plan", "g1-gpu-rtx6000-1"), ("region", "us-east"))
            ) in after  # fmt: skip
    assert value(before, "cloudapi_sellable_instances", plan="g1-gpu-rtx6000-4",
                 region="us-east") == 2  # fmt: skip
    assert value(after, "cloudapi_instances", status="provisioning") == 2
    assert value(after, "cloudapi_outbox_pending_jobs") == 2
    assert 0 <= value(after, "cloudapi_outbox_oldest_pending_age_seconds") < 60
    assert grew("cloudapi_instance_creates_refused_total", plan="g1-gpu-rtx6000-1",
                region="us-east", reason="no_capacity") == 1  # fmt: skip
    post = {"route": CREATES, "method": "POST"}
    assert grew("cloudapi_http_requests_total", **post, status="200") == 2
    assert grew("cloudapi_http_requests_total", **post, status="400") == 1
    assert grew("cloudapi_http_request_duration_seconds_count", **post) == 3
    assert grew("cloudapi_http_request_duration_seconds_sum", **post) > 0
    assert grew("cloudapi_http_request_duration_seconds_bucket", **post, le="+Inf") == 3
    for part in ("gpus", "sellable", "instances", "outbox", "flags"):
        assert value(after, "cloudapi_scrape_collector_success", collector=part) == 1, part


def test_flag_states_and_the_last_flip(client, admin_headers):
    found = scrape(client, admin_headers)
    flag = {"flag": LAUNCH, "environment": "development"}
    assert value(found, "cloudapi_flag_enabled", **flag) == 0
    assert value(found, "cloudapi_flag_enabled", flag="gpu-linodes-early-access",
                 environment="development") == 1  # fmt: skip
    assert ("cloudapi_flag_last_flip_timestamp_seconds", tuple(sorted(flag.items()))) not in found
    flipped = client.post(f"/admin/flags/{LAUNCH}/enable", headers=admin_headers)
    assert flipped.status_code == 200
    found = scrape(client, admin_headers)
    assert value(found, "cloudapi_flag_enabled", **flag) == 1
    assert abs(value(found, "cloudapi_flag_last_flip_timestamp_seconds", **flag) - time.time()) < 60


def test_rate_limited_and_failed_authentication_counts(make_app, customer, admin_headers):
    client = make_app(RATE_LIMIT="2/60").test_client()
    headers = customer[1]
    before = scrape(client, admin_headers)
    answers = [client.get("/v4/account", headers=headers).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert client.get("/v4/account", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/v4/linode/instances/12345", headers=headers).status_code == 429
    assert client.get("/v4/no/such/path").status_code == 404
    after = scrape(client, admin_headers)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("cloudapi_http_rate_limited_total", limit="v4") == 2
    assert grew("cloudapi_http_auth_failures_total", surface="v4") == 1
    assert grew("cloudapi_http_requests_total", route="/v4/account", method="GET",
                status="429") == 1  # fmt: skip
    assert grew("cloudapi_http_requests_total", route="/v4/linode/instances/{instance_id}",
                method="GET", status="429") == 1  # fmt: skip
    assert grew("cloudapi_http_requests_total", route="unmatched", method="GET",
                status="404") == 1  # fmt: skip


def test_a_spent_failed_auth_budget_is_counted_by_its_name(make_app, admin_headers):
    client = make_app(RATE_LIMIT_AUTH_FAILURES="1/60").test_client()
    reader = make_app().test_client()  # the address is over budget on `client`: 429 there
    spent = {"name": "cloudapi_http_rate_limited_total", "limit": "auth-failures"}
    before = value(scrape(reader, admin_headers), **spent)
    guesses = [client.get("/v4/account", headers={"Authorization": f"Bearer guess-{n}"})
               for n in range(2)]  # fmt: skip
    assert [r.status_code for r in guesses] == [401, 429]
    assert value(scrape(reader, admin_headers), **spent) - before == 1


def test_an_agent_counts_jobs_run_failed_and_dead_lettered(tmp_path):
    log = []
    driver = LoggingDriver(tmp_path / "domains", log, broken={"reboot"})
    agent = MeteredAgent("h", "memory://", RecordingReporter(log), driver, tmp_path,
                         render_xml=render)  # fmt: skip
    names = [("cloudapi_jobs_run_total", "create"), ("cloudapi_jobs_run_total", "reboot"),
             ("cloudapi_jobs_failed_total", "create"), ("cloudapi_jobs_failed_total", "reboot"),
             ("cloudapi_jobs_dead_lettered_total", "unknown"),
             ("cloudapi_jobs_dead_lettered_total", "boot")]  # fmt: skip

    def counts():
        return [REGISTRY.get_sample_value(name, {"action": action}) or 0 for name, action in names]

    before = counts()
    agent.handle(FakeMessage(job(), log))  # runs
    agent.handle(FakeMessage(job("reboot"), log))  # runs, fails
    agent.handle(FakeMessage(b"not json{", log))
    agent.handle(FakeMessage({**job(), "action": "rescue"}, log))  # an action it does not know
    agent.handle(FakeMessage({"job_id": "x", "action": "boot"}, log))  # fields missing
    assert [after - was for after, was in zip(counts(), before, strict=True)] == [1, 1, 0, 1, 2, 1]
