"""Cloud Firewalls: CRUD, rules and their validation, scopes, cross-account 404s, odd input.

Devices (attach/detach, one firewall per Linode, jobs for the host agents) are in
test_firewall_devices.py.
"""

import json

import pytest
from sqlalchemy import func, select

from cloudapi.db.firewalls import Firewall, FirewallDevice
from cloudapi.db.jobs import Event, Job
from cloudapi.domain import firewall_rules
from cloudapi.services import tokens

URL = "/v4/networking/firewalls"
SSH = {"protocol": "TCP", "ports": "22", "addresses": {"ipv4": ["192.0.2.0/24"]},
       "action": "ACCEPT", "label": "ssh-in"}  # fmt: skip
DEVICE = {"id": 1, "type": "linode"}
RULES = {"inbound_policy": "DROP", "outbound_policy": "ACCEPT", "inbound": [SSH], "outbound": []}


def create(client, headers, label="fw-one", **fields):
    return client.post(URL, json={"label": label, "rules": RULES, **fields}, headers=headers)


def written(db):
    """Rows a firewall change writes: firewalls, devices, events and jobs."""
    with db.reader() as session:
        return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
                for m in (Firewall, FirewallDevice, Event, Job)}  # fmt: skip


def errors_of(response):
    return [(e.get("field"), e["reason"]) for e in response.get_json()["errors"]]


def actions(client, headers):
    events = client.get("/v4/account/events", headers=headers).get_json()["data"]
    return [(e["action"], e["entity"]["type"], e["entity"]["id"]) for e in reversed(events)]


def test_create_view_and_shape(client, customer):
    _, headers = customer
    response = create(client, headers, tags=["web", "prod"])
    assert response.status_code == 200
    firewall = response.get_json()
    assert set(firewall) == {"id", "label", "created", "updated", "status", "tags", "rules",
                             "entities"}  # fmt: skip
    assert (firewall["label"], firewall["status"], firewall["tags"]) == (
        "fw-one", "enabled", ["prod", "web"])  # fmt: skip
    assert firewall["entities"] == []
    rules = firewall["rules"]
    assert rules["inbound"] == [SSH] and rules["outbound"] == []
    assert (rules["inbound_policy"], rules["outbound_policy"], rules["version"]) == (
        "DROP", "ACCEPT", 1)  # fmt: skip
    assert rules["fingerprint"] == firewall_rules.fingerprint(RULES)
    assert client.get(f"{URL}/{firewall['id']}", headers=headers).get_json() == firewall
    assert client.get(f"{URL}/{firewall['id']}/rules", headers=headers).get_json() == rules
    event = client.get("/v4/account/events", headers=headers).get_json()["data"][0]
    assert event["action"] == "firewall_create" and event["status"] == "notification"
    assert event["entity"] == {"id": firewall["id"], "label": "fw-one", "type": "firewall",
                               "url": f"/v4/networking/firewalls/{firewall['id']}"}  # fmt: skip
    assert event["secondary_entity"] is None


def test_list_pages_and_filters(client, customer):
    _, headers = customer
    made = [create(client, headers, label=f"fw-{i:02d}", tags=["odd" if i % 2 else "even"])
            .get_json()["id"] for i in range(30)]  # fmt: skip
    first = client.get(f"{URL}?page_size=25", headers=headers).get_json()
    assert (first["page"], first["pages"], first["results"]) == (1, 2, 30)
    second = client.get(f"{URL}?page=2&page_size=25", headers=headers).get_json()
    assert [f["id"] for f in first["data"] + second["data"]] == made

    def labels(flt):
        found = client.get(URL, headers={**headers, "X-Filter": json.dumps(flt)})
        return [f["label"] for f in found.get_json()["data"]]

    assert labels({"label": "fw-07"}) == ["fw-07"]
    assert len(labels({"tags": "odd"})) == 15
    assert labels({"+order_by": "label", "+order": "desc", "label": {"+contains": "fw-2"}}) == [
        f"fw-{i}" for i in range(29, 19, -1)]  # fmt: skip
    bad = client.get(URL, headers={**headers, "X-Filter": '{"rules": "x"}'})
    assert bad.status_code == 400 and errors_of(bad)[0][0] == "X-Filter"
    tags = client.get(URL, headers={**headers, "X-Filter": '{"+order_by": "tags"}'})
    assert tags.status_code == 400


def test_update_label_tags_and_status(client, customer, db):
    _, headers = customer
    firewall = create(client, headers).get_json()
    url = f"{URL}/{firewall['id']}"
    updated = client.put(url, json={"label": "fw-renamed", "tags": ["a-tag"]}, headers=headers)
    assert updated.status_code == 200
    assert (updated.get_json()["label"], updated.get_json()["tags"]) == ("fw-renamed", ["a-tag"])
    disabled = client.put(url, json={"status": "disabled"}, headers=headers).get_json()
    assert disabled["status"] == "disabled" and disabled["rules"] == firewall["rules"]
    assert client.put(url, json={"status": "enabled"}, headers=headers).get_json()["status"] == (
        "enabled")  # fmt: skip
    bad = client.put(url, json={"status": "deleted"}, headers=headers)
    assert bad.status_code == 400 and errors_of(bad)[0][0] == "status"
    assert [a for a, _, _ in actions(client, headers)] == [
        "firewall_create", "firewall_update", "firewall_disable", "firewall_enable"]  # fmt: skip


def test_labels_are_checked_and_unique_per_account(client, make_account):
    _, headers = make_account()
    _, other = make_account()
    assert create(client, headers, label="fw-same").status_code == 200
    taken = create(client, headers, label="fw-same")
    assert errors_of(taken) == [("label", "Label must be unique among your Cloud Firewalls")]
    assert create(client, other, label="fw-same").status_code == 200  # another account
    second = create(client, headers, label="fw-two").get_json()
    clash = client.put(f"{URL}/{second['id']}", json={"label": "fw-same"}, headers=headers)
    assert errors_of(clash) == [("label", "Label must be unique among your Cloud Firewalls")]
    same = client.put(f"{URL}/{second['id']}", json={"label": "fw-two"}, headers=headers)
    assert same.status_code == 200
    for label in ("ab", "x" * 33, "-fw", "fw--1", "fw one", "fw\x00one"):
        assert [f for f, _ in errors_of(create(client, headers, label=label))] == ["label"], label
    missing = client.post(URL, json={}, headers=headers)
    assert errors_of(missing) == [("label", "label is required"), ("rules", "rules is required")]


def test_delete(client, customer, db):
    _, headers = customer
    firewall = create(client, headers).get_json()
    url = f"{URL}/{firewall['id']}"
    assert client.delete(url, headers=headers).get_json() == {}
    for method, path in (("get", url), ("put", url), ("delete", url), ("get", f"{url}/rules"),
                         ("get", f"{url}/devices")):  # fmt: skip
        kwargs = {"json": {"label": "fw-x"}} if method == "put" else {}
        assert getattr(client, method)(path, headers=headers, **kwargs).status_code == 404
    assert actions(client, headers)[-1] == ("firewall_delete", "firewall", firewall["id"])
    assert create(client, headers).status_code == 200  # the label is free again


def test_another_accounts_firewall_is_not_found(client, make_account):
    _, mine = make_account()
    _, theirs = make_account()
    firewall = create(client, theirs).get_json()
    url = f"{URL}/{firewall['id']}"
    calls = [("get", url, None), ("put", url, {"label": "stolen"}), ("delete", url, None),
             ("get", f"{url}/rules", None), ("put", f"{url}/rules", RULES),
             ("get", f"{url}/devices", None), ("post", f"{url}/devices", DEVICE),
             ("get", f"{url}/devices/1", None), ("delete", f"{url}/devices/1", None)]  # fmt: skip
    for method, path, body in calls:
        response = getattr(client, method)(path, json=body, headers=mine)
        assert response.status_code == 404, (method, path)
        assert response.get_json() == {"errors": [{"reason": "Not found"}]}
    assert client.get(URL, headers=mine).get_json()["results"] == 0
    assert client.get(url, headers=theirs).get_json()["label"] == "fw-one"


def test_scopes(client, db, make_account):
    account_id, full = make_account()

    def token(scopes):
        with db.transaction() as session:
            made = tokens.create(session, account_id=account_id, scopes=tokens.parse_scopes(scopes))
        return {"Authorization": f"Bearer {made}"}

    writer, linodes_ro = token("firewall:read_write"), token("linodes:read_only")
    assert create(client, writer).status_code == 200
    web = client.post("/v4/linode/instances", headers=full, json={
        "type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": "Gpu-Demo-2026!x"}).get_json()["id"]  # fmt: skip
    denied = client.get(URL, headers=linodes_ro)
    assert denied.status_code == 401
    assert denied.get_json()["errors"][0]["reason"] == (
        "Your OAuth token is not authorized to use this endpoint.")  # fmt: skip
    # A Linode's firewalls are read, and re-applied, with the linodes scopes (as Linode).
    assert (
        client.get(f"/v4/linode/instances/{web}/firewalls", headers=linodes_ro).status_code == 200
    )
    assert client.get(f"/v4/linode/instances/{web}/firewalls", headers=writer).status_code == 401
    apply = f"/v4/linode/instances/{web}/firewalls/apply"
    assert client.post(apply, headers=linodes_ro).status_code == 401
    assert client.post(apply, headers=token("linodes:read_write")).status_code == 200


def test_read_only_token_cannot_write(client, db, make_account):
    account_id, writer = make_account()
    with db.transaction() as session:
        token = tokens.create(session, account_id=account_id, scopes="firewall:read_only")
    reader = {"Authorization": f"Bearer {token}"}
    firewall = create(client, writer).get_json()
    url = f"{URL}/{firewall['id']}"
    assert client.get(url, headers=reader).status_code == 200
    assert client.get(f"{url}/rules", headers=reader).status_code == 200
    assert client.get(f"{url}/devices", headers=reader).status_code == 200
    before = written(db)
    for method, path, body in (("post", URL, {"label": "fw-x", "rules": RULES}),
                               ("put", url, {"label": "fw-x"}), ("delete", url, None),
                               ("put", f"{url}/rules", RULES),
                               ("post", f"{url}/devices", DEVICE)):  # fmt: skip
        assert getattr(client, method)(path, json=body, headers=reader).status_code == 401
    assert written(db) == before


@pytest.mark.parametrize(
    "path",
    [f"{URL}/{2**31}", f"{URL}/99999999999999999999999", f"{URL}/{2**31}/rules",
     f"{URL}/{2**40}/devices", f"{URL}/1/devices/{2**63}",
     f"/v4/linode/instances/{2**40}/firewalls"],
)  # fmt: skip
def test_huge_ids_in_paths_are_not_found(client, customer, path):
    assert client.get(path, headers=customer[1]).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"label": "fw-x", "rules": RULES, "tags": ["ab\x00c"]},
        {"label": "fw-x", "rules": RULES, "tags": ["tag"] * 10_000},
        {"label": "fw-x", "rules": RULES, "tags": ["ab\x07c"]},
        {"label": "fw-x", "rules": RULES, "tags": "web"},
        {"label": "fw-x", "rules": "DROP"},
        {"label": "fw-x", "rules": {**RULES, "inbound": [SSH] * 5_000}},
        {"label": "fw-x", "rules": {**RULES, "inbound": {"0": SSH}}},
        {"label": "fw-x", "rules": {**RULES, "inbound": [None, 3, "x"]}},
        {"label": "fw-x", "rules": RULES, "devices": {"linodes": [2**40, 10**30, "1", True]}},
        {"label": "fw-x", "rules": RULES, "devices": {"linodes": list(range(100_000))}},
        {"label": "fw-x", "rules": RULES, "devices": []},
        {"label": 12, "rules": RULES},
        {"label": "fw-x", "rules": RULES, "status": "disabled"},
    ],
)
def test_odd_bodies_are_400_and_write_nothing(client, customer, db, body):
    _, headers = customer
    before = written(db)
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 400
    assert all("reason" in e for e in response.get_json()["errors"])
    assert written(db) == before


@pytest.mark.parametrize("raw", [b"", b"[]", b"not json", b'"x"', b"null"])
def test_bodies_that_are_not_objects(client, customer, raw):
    firewall = create(client, customer[1]).get_json()
    for method, path in (("post", URL), ("put", f"{URL}/{firewall['id']}"),
                         ("put", f"{URL}/{firewall['id']}/rules"),
                         ("post", f"{URL}/{firewall['id']}/devices")):  # fmt: skip
        response = getattr(client, method)(
            path, data=raw, headers={**customer[1], "Content-Type": "application/json"}
        )
        assert response.status_code == 400, (method, path)


def test_create_takes_status_enabled_as_linode_api4_sends_it(client, customer):
    """linode_api4's own suite creates with status="enabled": read-only, yet accepted."""
    _, headers = customer
    response = create(client, headers, status="enabled")
    assert response.status_code == 200 and response.get_json()["status"] == "enabled"
    refused = create(client, headers, label="fw-two", status="disabled")
    assert refused.status_code == 400
    assert errors_of(refused) == [("status", "A new Firewall is always enabled; disable it "
                                             "with an update")]  # fmt: skip
