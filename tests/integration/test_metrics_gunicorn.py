"""Metrics under real gunicorn, and the relay's and an agent's health ports.

`cloudapi serve` runs gunicorn with Prometheus multiprocess mode set up by itself: every
worker writes its counters to a file of its own in a fresh folder, and whichever worker
answers /metrics sums them all. N requests spread over both workers read N, on every
scrape, whichever worker answers it; the folder is gone when gunicorn has exited.
"""

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from cloudapi.observability import gunicorn_conf
from cloudapi.services import tokens
from tests.support.gunicorn import CLOUDAPI, Gunicorn
from tests.support.rabbit import rabbit_url
from tests.support.unleash import free_port

pytestmark = pytest.mark.slow

METRICS_TOKEN = "prometheus-scrapes-with-this"
SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}
REGIONS = {"route": "/v4/regions", "method": "GET", "status": "200"}
BODY = {"type": "g1-gpu-rtx6000-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": "Gpu-Demo-2026!x"}  # fmt: skip


def samples(text):
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(url, headers=SCRAPE):
    response = requests.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


def metrics_dir(pid):
    """The folder `cloudapi serve` gave gunicorn: in the environment it exec'd it with."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    found = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
    return Path(found[gunicorn_conf.DIR_VARIABLE])


def regions_per_worker(folder):
    """{pid: GET /v4/regions 200s counted in that worker's own file}."""
    counted = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for key, count, *_rest in MmapedDict.read_all_values_from_file(str(path)):
            _metric, name, labels, _help = json.loads(key)
            if name == "cloudapi_http_requests_total" and labels == REGIONS:
                counted[pid] = counted.get(pid, 0) + count
    return counted


def _env(app, **extra):
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "RATE_LIMIT": "off",
           "RATE_LIMIT_CREATE": "off", "METRICS_TOKEN": METRICS_TOKEN, **extra}  # fmt: skip
    assert gunicorn_conf.DIR_VARIABLE not in os.environ
    return env


def test_requests_are_counted_once_across_two_workers(app, tmp_path):
    with Gunicorn(_env(app), workers=2, log_path=tmp_path / "gunicorn.log") as server:
        folder = metrics_dir(server.proc.pid)
        assert folder.is_dir() and folder.name.startswith("cloudapi-metrics-")
        before = value(scrape(server.url), "cloudapi_http_requests_total", **REGIONS)
        sent = 0
        with ThreadPoolExecutor(max_workers=8) as pool:
            for _batch in range(20):  # until both workers have answered some
                answers = list(pool.map(lambda _: requests.get(f"{server.url}/v4/regions",
                                                               timeout=10).status_code,
                                        range(25)))  # fmt: skip
                assert answers == [200] * 25
                sent += 25
                per_worker = regions_per_worker(folder)
                if len([n for n in per_worker.values() if n > 0]) >= 2:
                    break
        assert len([n for n in per_worker.values() if n > 0]) >= 2, per_worker
        assert sum(per_worker.values()) == before + sent
        for _ in range(6):  # whichever worker answers, the same sum
            assert value(scrape(server.url), "cloudapi_http_requests_total", **REGIONS) == (
                before + sent
            )
    assert not folder.exists()


def test_prepare_keeps_a_folder_it_was_given_but_empties_it(tmp_path):
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_123.db").write_bytes(b"stale")
    (given / "notes.txt").write_text("kept")
    environ = {gunicorn_conf.DIR_VARIABLE: str(given)}
    assert gunicorn_conf.prepare(environ) == str(given)
    assert sorted(p.name for p in given.iterdir()) == ["notes.txt"]
    assert gunicorn_conf.OWNED_VARIABLE not in environ
    fresh = {}
    made = Path(gunicorn_conf.prepare(fresh))
    try:
        assert made.is_dir() and fresh[gunicorn_conf.OWNED_VARIABLE] == str(made)
    finally:
        made.rmdir()


# -- the relay's and an agent's health ports ---------------------------------------------


def wait_for(url, status=200, timeout=30):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            answer = requests.get(url, timeout=3)
            if answer.status_code == status:
                return answer
            last = f"HTTP {answer.status_code}: {answer.text[:200]}"
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer {status} within {timeout} s ({last})")


def start(args, env, log_path):
    log = open(log_path, "wb")  # noqa: SIM115 (closed with the process, below)
    proc = subprocess.Popen([CLOUDAPI, *args], env={**os.environ, **env}, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    return proc, log


def test_the_relay_and_an_agent_answer_on_their_health_ports(app, db, add_host, make_account,
                                                             rabbit, tmp_path):  # fmt: skip
    host = rabbit.host("gpu")
    add_host(host)
    _, headers = make_account(tags=("employee",))
    with db.transaction() as session:
        agent_token = tokens.create(session, host=host)
    env = _env(app, BROKER_URL=rabbit_url(), AGENT_STATE_DIR=str(tmp_path / "agents"))
    relay_port, agent_port = free_port(), free_port()
    with Gunicorn(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        parts = [
            start(["relay", "--poll", "0.2", "--health-port", str(relay_port)], env,
                  tmp_path / "relay.log"),
            start(["agent", "--host", host, "--api", server.url, "--boot-seconds", "0.2",
                   "--health-port", str(agent_port)], {**env, "AGENT_TOKEN": agent_token},
                  tmp_path / "agent.log"),
        ]  # fmt: skip
        try:
            relay, agent = f"http://127.0.0.1:{relay_port}", f"http://127.0.0.1:{agent_port}"
            for url in (relay, agent):
                assert wait_for(f"{url}/healthz").json() == {"status": "ok"}
            assert wait_for(f"{relay}/readyz").json()["checks"] == {"database": "ok",
                                                                    "broker": "ok"}  # fmt: skip
            assert wait_for(f"{agent}/readyz").json()["checks"] == {"broker": "ok", "api": "ok"}
            assert wait_for(f"{server.url}/readyz").json()["down"] == []

            made = server.post("/v4/linode/instances", headers["Authorization"].split()[1], BODY)
            assert made.status_code == 200, made.text
            url = f"/v4/linode/instances/{made.json()['id']}"
            deadline = time.monotonic() + 30
            while server.get(url, headers["Authorization"].split()[1]).json()["status"] != (
                "running"
            ):
                assert time.monotonic() < deadline, "the create never ran"
                time.sleep(0.2)
            sent = scrape(relay, headers={})
            assert value(sent, "cloudapi_jobs_sent_total", action="create") == 1
            ran = scrape(agent, headers={})
            assert value(ran, "cloudapi_jobs_run_total", action="create") == 1
            assert value(ran, "cloudapi_jobs_failed_total", action="create") == 0
            api = scrape(server.url)
            assert value(api, "cloudapi_outbox_pending_jobs") == 0
            assert value(api, "cloudapi_instances", status="running") == 1
        finally:
            for proc, log in parts:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
                log.close()
