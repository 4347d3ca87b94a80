"""POST /v4/linode/instances: `firewall_id`, `authorized_users` and `authorized_keys` do
what Linode does with them, in the create's one transaction; the event names the image."""

import pytest
from sqlalchemy import func, select

from cloudapi.db.firewalls import FirewallDevice
from cloudapi.db.jobs import Job
from cloudapi.errors import Invalid
from cloudapi.services import firewall_outbox
from tests.api.test_firewalls import create as create_firewall
from tests.support import sshkeys as make_key
from tests.support.rows import counts, set_status

URL = "/v4/linode/instances"
BASE = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": "Gpu-Demo-2026!x"}  # fmt: skip


def create(client, headers, **fields):
    return client.post(URL, json={**BASE, **fields}, headers=headers)


def errors_of(response):
    return [(e.get("field"), e["reason"]) for e in response.get_json()["errors"]]


def jobs_of(db, instance_id):
    """(action, payload) of the instance's jobs, in the order the agent gets them."""
    with db.reader() as session:
        found = session.scalars(
            select(Job).where(Job.instance_id == instance_id).order_by(Job.created)
        )
        return [(j.action, j.payload) for j in found]


def device_rows(db):
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(FirewallDevice))


def username_of(client, headers):
    return client.get("/v4/profile", headers=headers).get_json()["username"]


# -- firewall_id -------------------------------------------------------------------------


def test_firewall_id_attaches_the_new_linode(client, customer, db):
    _, headers = customer
    firewall = create_firewall(client, headers).get_json()
    response = create(client, headers, label="web-1", firewall_id=firewall["id"])
    assert response.status_code == 200, response.get_json()
    linode = response.get_json()
    listed = client.get(f"{URL}/{linode['id']}/firewalls", headers=headers).get_json()
    assert [f["id"] for f in listed["data"]] == [firewall["id"]]
    devices = client.get(f"/v4/networking/firewalls/{firewall['id']}/devices",
                         headers=headers).get_json()["data"]  # fmt: skip
    assert [d["entity"]["id"] for d in devices] == [linode["id"]]
    # The agent defines the domain before it applies the rules.
    jobs = jobs_of(db, linode["id"])
    assert [a for a, _ in jobs] == ["create", "firewall_apply"]
    assert jobs[1][1]["firewall_id"] == firewall["id"]
    events = client.get("/v4/account/events", headers=headers).get_json()["data"]
    assert {e["action"] for e in events} >= {"linode_create", "firewall_device_add"}


def test_firewall_id_null_attaches_nothing(client, customer, db):
    _, headers = customer
    response = create(client, headers, firewall_id=None)
    assert response.status_code == 200
    assert [a for a, _ in jobs_of(db, response.get_json()["id"])] == ["create"]
    assert device_rows(db) == 0


def test_an_unknown_or_foreign_firewall_is_400_and_writes_nothing(client, make_account, db):
    _, mine = make_account()
    _, theirs = make_account()
    their_firewall = create_firewall(client, theirs, label="fw-theirs").get_json()
    before = (counts(db), device_rows(db))
    for firewall_id in (their_firewall["id"], 999_999, 2**40):
        response = create(client, mine, firewall_id=firewall_id)
        assert response.status_code == 400
        assert errors_of(response) == [("firewall_id", "Firewall not found")]
    assert (counts(db), device_rows(db)) == before


def test_a_create_failing_after_the_attach_leaves_no_device_row(client, customer, db, monkeypatch):
    """The attach shares the create's transaction: when a later step fails, the device
    row, the instance, its jobs and its events all go."""
    _, headers = customer
    firewall = create_firewall(client, headers).get_json()
    before = (counts(db), device_rows(db))

    def fail(*args, **kwargs):
        raise Invalid.reason("the agent outbox is full")

    monkeypatch.setattr(firewall_outbox, "push", fail)  # runs after the device row is added
    response = create(client, headers, firewall_id=firewall["id"])
    assert response.status_code == 400
    assert (counts(db), device_rows(db)) == before


# -- authorized_users and authorized_keys ------------------------------------------------


def test_authorized_users_keys_reach_the_job_with_the_bodys_keys(client, customer, db):
    _, headers = customer
    first, second, own = make_key.rsa(), make_key.ed25519(), make_key.ecdsa()
    for key in (first, second):
        client.post("/v4/profile/sshkeys", json={"ssh_key": key}, headers=headers)
    username = username_of(client, headers)
    body = {**BASE, "authorized_keys": [own, first], "authorized_users": [username]}
    del body["root_pass"]
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    [(action, payload)] = jobs_of(db, response.get_json()["id"])
    assert action == "create"
    assert payload["authorized_keys"] == [own, first, second]  # each key once, body first
    assert "root_pass" not in payload


def test_authorized_users_alone_is_a_credential(client, customer, db):
    _, headers = customer
    key = make_key.ed25519()
    client.post("/v4/profile/sshkeys", json={"ssh_key": key}, headers=headers)
    body = {**BASE, "authorized_users": [username_of(client, headers)]}
    del body["root_pass"]
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert jobs_of(db, response.get_json()["id"])[0][1]["authorized_keys"] == [key]


def test_an_unknown_user_is_400_on_authorized_users(client, make_account, db):
    _, mine = make_account()
    _, theirs = make_account()
    before = counts(db)
    for users in (["nobody"], [username_of(client, mine), "nobody"]):
        response = create(client, mine, authorized_users=users)
        assert errors_of(response) == [("authorized_users", "Username nobody not found")]
    their_user = username_of(client, theirs)
    response = create(client, mine, authorized_users=[their_user])
    assert errors_of(response) == [("authorized_users", f"Username {their_user} not found")]
    assert counts(db) == before


def test_an_unknown_user_is_reported_with_the_bodys_other_problems(client, customer):
    _, headers = customer
    response = create(client, headers, label="x", authorized_users=["nobody"])
    assert sorted(f for f, _ in errors_of(response)) == ["authorized_users", "label"]


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "SSH Key key-type must be"),
        ("not-a-key AAAA", "SSH Key key-type must be"),
        ("ssh-ed25519", "SSH Key key-data must be valid base64"),
        ("ssh-rsa AAAA", "does not match its key-type"),  # truncated
        ("/home/me/.ssh/id_rsa.pub", "SSH Key key-type must be"),
        ("ssh-ed25519 !!!notbase64", "SSH Key key-data must be valid base64"),
        (make_key.line("ssh-ed25519", b"\x00" * 31), "does not match its key-type"),
        (make_key.rsa().replace("ssh-rsa ", "ssh-ed25519 "), "does not match its key-type"),
        (make_key.line("ssh-rsa", b"\x01\x00\x01"), "does not match its key-type"),
    ],
)
def test_authorized_keys_are_checked_as_profile_keys_are(client, customer, db, key, reason):
    _, headers = customer
    before = counts(db)
    response = create(client, headers, authorized_keys=[make_key.ed25519(), key])
    [(field, said)] = errors_of(response)
    assert field == "authorized_keys[1]" and reason in said
    assert counts(db) == before


# -- the event's secondary entity --------------------------------------------------------


def test_the_create_event_names_the_image(client, customer):
    _, headers = customer
    linode = create(client, headers, label="web-1").get_json()
    image = client.get("/v4/images/linode/debian12").get_json()
    events = client.get("/v4/account/events", headers=headers).get_json()["data"]
    [made] = [e for e in events if e["action"] == "linode_create"]
    assert made["entity"]["id"] == linode["id"]
    assert made["secondary_entity"] == {"id": "linode/debian12", "type": "image",
                                        "label": image["label"],
                                        "url": "/v4/images/linode/debian12"}  # fmt: skip


def test_events_without_a_second_entity_keep_it_null(client, customer, db):
    _, headers = customer
    empty = client.post(URL, json={"type": "g6-nanode-1", "region": "us-east"},
                        headers=headers).get_json()  # fmt: skip
    set_status(db, empty["id"], "offline")
    assert client.post(f"{URL}/{empty['id']}/boot", headers=headers).status_code == 200
    events = client.get("/v4/account/events", headers=headers).get_json()["data"]
    assert [(e["action"], e["secondary_entity"]) for e in events] == [
        ("linode_boot", None),
        ("linode_create", None),
    ]  # no image; no config exists here
