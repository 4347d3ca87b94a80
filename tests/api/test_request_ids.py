"""Every request's id (X-Request-Id): echoed, made when absent, replaced when invalid, and
written into the job rows the request creates (cloudapi/api/request_ids.py, tracing.py)."""

import json
import logging
import re

import pytest
from sqlalchemy import select

from cloudapi import tracing
from cloudapi.api.request_ids import account_fields
from cloudapi.db.jobs import Job
from tests.api.test_firewalls import create as create_firewall

MADE = re.compile(r"[0-9a-f]{32}")
LINODE = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
          "root_pass": "Gpu-Demo-2026!x"}  # fmt: skip


def jobs_of(db, request_id):
    with db.reader() as session:
        found = session.scalars(select(Job).where(Job.request_id == request_id)
                                .order_by(Job.created))  # fmt: skip
        return [(job.action, job.instance_id) for job in found]


@pytest.mark.parametrize("sent", ["abc-123", "A.b_C-9", "x" * 64, "0b6c6f2e-1111-2222-3333"])
def test_a_valid_client_id_is_echoed(client, sent):
    response = client.get("/v4/regions", headers={"X-Request-Id": sent})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == sent


def test_an_id_is_made_when_absent_and_each_request_gets_its_own(client):
    one = client.get("/v4/regions").headers["X-Request-Id"]
    two = client.get("/v4/regions").headers["X-Request-Id"]
    assert MADE.fullmatch(one) and MADE.fullmatch(two) and one != two


@pytest.mark.parametrize("sent", ["", "x" * 65, "has space", "semi;colon", "quote\"d", "é",
                                  "a/b", "{json}"])  # fmt: skip
def test_an_invalid_client_id_is_replaced(client, sent):
    response = client.get("/v4/regions", headers={"X-Request-Id": sent})
    assert response.status_code == 200
    assert MADE.fullmatch(response.headers["X-Request-Id"])


@pytest.mark.parametrize(("method", "path", "headers", "status"), [
    ("GET", "/v4/no/such/path", {}, 404),
    ("GET", "/v4/linode/instances", {"Authorization": "Bearer wrong"}, 401),
    ("DELETE", "/v4/regions", {}, 405),
    ("POST", "/v4/linode/instances", {"Content-Type": "text/plain"}, 400),
    ("GET", "/admin/accounts", {}, 401),
    ("GET", "/internal/jobs", {}, 404),
])  # fmt: skip
def test_errors_carry_the_id_too(client, method, path, headers, status):
    response = client.open(path, method=method, data="x" if method == "POST" else None,
                           headers={**headers, "X-Request-Id": "err-1"})  # fmt: skip
    assert response.status_code == status
    assert response.headers["X-Request-Id"] == "err-1"


def test_a_preflight_and_a_rate_limited_request_carry_it(make_app):
    app = make_app(RATE_LIMIT="1/60", CORS_ORIGINS="https://cloud.example")
    client = app.test_client()
    preflight = client.options("/v4/regions", headers={
        "Origin": "https://cloud.example", "Access-Control-Request-Method": "GET",
        "X-Request-Id": "pre-1"})  # fmt: skip
    assert preflight.status_code == 204 and preflight.headers["X-Request-Id"] == "pre-1"
    assert client.get("/v4/regions").status_code == 200
    limited = client.get("/v4/regions", headers={"X-Request-Id": "late-1"})
    assert limited.status_code == 429 and limited.headers["X-Request-Id"] == "late-1"


def test_a_create_writes_its_id_into_its_job(client, customer, db):
    _, headers = customer
    response = client.post("/v4/linode/instances", json={**LINODE, "label": "traced-1"},
                           headers={**headers, "X-Request-Id": "create-req-1"})  # fmt: skip
    assert response.status_code == 200, response.get_json()
    assert response.headers["X-Request-Id"] == "create-req-1"
    assert jobs_of(db, "create-req-1") == [("create", response.get_json()["id"])]


def test_a_request_that_writes_two_jobs_marks_both(client, customer, db):
    """A create with a firewall: its `create` (outbox.record) and the firewall's
    `firewall_apply` (firewall_outbox) both carry the request's id."""
    _, headers = customer
    firewall = create_firewall(client, headers).get_json()
    response = client.post("/v4/linode/instances",
                           json={**LINODE, "label": "traced-2", "firewall_id": firewall["id"]},
                           headers={**headers, "X-Request-Id": "two-jobs-1"})  # fmt: skip
    assert response.status_code == 200, response.get_json()
    instance_id = response.get_json()["id"]
    assert jobs_of(db, "two-jobs-1") == [("create", instance_id), ("firewall_apply", instance_id)]
    made = client.get(f"/v4/linode/instances/{instance_id}", headers=headers)
    assert jobs_of(db, made.headers["X-Request-Id"]) == []  # a read writes no job


def test_the_id_is_unbound_after_the_request(client, customer):
    _, headers = customer
    client.get("/v4/linode/instances", headers={**headers, "X-Request-Id": "gone-after"})
    assert tracing.request_id() is None


def test_log_lines_of_a_request_carry_its_id_route_and_account(client, customer):
    """The app's lines during a request: a create's warning that no agent key is registered
    (services/sealing.py), as the JSON handler writes it."""
    account_id, headers = customer
    seen = []
    handler = tracing.json_handler(stream=_Lines(seen), more=account_fields)
    logger = logging.getLogger("cloudapi")
    logger.addHandler(handler)
    try:
        response = client.post("/v4/linode/instances", json={**LINODE, "label": "logged-1"},
                               headers={**headers, "X-Request-Id": "logged-1"})  # fmt: skip
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 200, response.get_json()
    lines = [json.loads(text) for text in seen]
    (line,) = [line for line in lines if "no key registered" in line["msg"]]
    assert line["request_id"] == "logged-1" and line["account_id"] == account_id
    assert line["route"] == "/v4/linode/instances" and line["level"] == "WARNING"
    assert line["logger"] == "cloudapi.services.sealing" and line["ts"].endswith("Z")
    assert LINODE["root_pass"] not in "".join(seen)


class _Lines:
    """A stream keeping each line written to it."""

    def __init__(self, lines):
        self.lines = lines

    def write(self, text):
        if text.strip():
            self.lines.append(text)

    def flush(self):
        pass
