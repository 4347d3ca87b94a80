"""A real Unleash server (bin/unleash-server): admin API, client API, Python SDK, audit log."""

import time

import pytest
import requests

pytestmark = pytest.mark.slow

FLAG = "gpu-plan-h200-test"
EMPLOYEE = {"userId": "1", "properties": {"accountTags": ",employee,"}}
EX_EMPLOYEE = {"userId": "2", "properties": {"accountTags": ",ex-employee,"}}


@pytest.fixture(scope="module")
def employee_flag(unleash_server):
    """FLAG in project default: on in development for accounts tagged `employee` only."""
    server = unleash_server
    response = server.admin(
        "POST", "/projects/default/features",
        json={"name": FLAG, "type": "release", "description": "H200 plan, employees first"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    strategy = {
        "name": "flexibleRollout",
        "parameters": {"rollout": "100", "stickiness": "default", "groupId": FLAG},
        "constraints": [{"contextName": "accountTags", "operator": "STR_CONTAINS",
                         "values": [",employee,"], "caseInsensitive": False,
                         "inverted": False}],
    }  # fmt: skip
    environment = f"/projects/default/features/{FLAG}/environments/development"
    response = server.admin("POST", f"{environment}/strategies", json=strategy)
    assert response.status_code == 200, response.text
    response = server.admin("POST", f"{environment}/on")
    assert response.status_code == 200, response.text
    # The server recomputes what its client API serves about once a second (a cached
    # revision), so wait until the new flag is served before any SDK fetches it.
    deadline = time.monotonic() + 15
    while not any(f["name"] == FLAG and f["enabled"] and f["strategies"]
                  for f in server.client_features()["features"]):  # fmt: skip
        assert time.monotonic() < deadline, "the new flag never reached the client API"
        time.sleep(0.2)
    return FLAG


def test_health(unleash_server):
    assert unleash_server.health() == {"health": "GOOD"}
    assert unleash_server.url == f"http://127.0.0.1:{unleash_server.port}/api"


def test_client_api_needs_a_token(unleash_server):
    response = requests.get(f"{unleash_server.url}/client/features", timeout=10)
    assert response.status_code == 401


def test_client_features_list_the_flag(unleash_server, employee_flag):
    body = unleash_server.client_features()
    assert body["query"]["environment"] == "development"
    (feature,) = [f for f in body["features"] if f["name"] == employee_flag]
    assert feature["enabled"] is True
    (strategy,) = feature["strategies"]
    assert strategy["name"] == "flexibleRollout"
    (constraint,) = strategy["constraints"]
    assert constraint["contextName"] == "accountTags"
    assert constraint["operator"] == "STR_CONTAINS"
    assert constraint["values"] == [",employee,"]


def started_and_seeing(client, flag, timeout=10):
    """Start `client` and wait until it has fetched `flag`.

    The server caches what its client API serves per query for about a second, so a
    client's first fetch right after a change can still be the previous revision.
    """
    client.initialize_client()
    deadline = time.monotonic() + timeout
    while not client.is_enabled(flag, EMPLOYEE):
        assert time.monotonic() < deadline, f"the SDK never saw {flag}"
        time.sleep(0.2)


def test_python_sdk_evaluates_the_constraint(unleash_server, employee_flag):
    client = unleash_server.sdk_client()
    try:
        started_and_seeing(client, employee_flag)
        assert client.is_initialized
        assert client.is_enabled(employee_flag, EX_EMPLOYEE) is False
        assert client.is_enabled(employee_flag, {"userId": "3"}) is False
    finally:
        client.destroy()


def test_python_sdk_sees_a_change_within_seconds(unleash_server, employee_flag):
    environment = f"/projects/default/features/{employee_flag}/environments/development"
    client = unleash_server.sdk_client()
    try:
        started_and_seeing(client, employee_flag)
        assert unleash_server.admin("POST", f"{environment}/off").status_code == 200
        deadline = time.monotonic() + 10  # refresh_interval=1 s + the server's 1 s revision tick
        while client.is_enabled(employee_flag, EMPLOYEE) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.is_enabled(employee_flag, EMPLOYEE) is False
    finally:
        assert unleash_server.admin("POST", f"{environment}/on").status_code == 200
        client.destroy()


def test_audit_log_records_the_enable(unleash_server, employee_flag):
    events = unleash_server.events(feature=f"IS:{employee_flag}",
                                   type="IS:feature-environment-enabled")  # fmt: skip
    assert events, "no feature-environment-enabled event"
    event = events[-1]  # newest first: the last is the first enable
    assert event["featureName"] == employee_flag
    assert event["project"] == "default"
    assert event["environment"] == "development"
    assert event["createdBy"] == "admin"  # the name Unleash gives admin API tokens
    assert event["createdAt"]
    types = {e["type"] for e in unleash_server.events(feature=f"IS:{employee_flag}")}
    assert {"feature-created", "feature-strategy-add", "feature-environment-enabled"} <= types

    # The older /api/admin/events (deprecated in 8.x, still served) has the same entries.
    response = unleash_server.admin("GET", "/events")
    assert response.status_code == 200
    enabled = [
        e
        for e in response.json()["events"]
        if e["type"] == "feature-environment-enabled" and e["featureName"] == employee_flag
    ]
    assert enabled and enabled[-1]["createdBy"] == "admin"
