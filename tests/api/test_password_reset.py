"""POST /linode/instances/{id}/password: a shut-down Linode's root disk gets a new root
password through a `password_reset` job and event; the password is kept nowhere but the
job, and leaves it when the job ends; the Linode's status does not move."""

import pytest
from sqlalchemy import select

from cloudapi.db.disks import Config
from cloudapi.db.jobs import Event
from tests.api.test_rebuild import counts, make, tables_holding
from tests.api.test_resize import finish, last_job
from tests.support.rows import set_status
from tests.support.sealing import agent_ring, opened_secret

URL = "/v4/linode/instances"
SECRET = "Reset-Secret-2026!w"


def reset(client, headers, linode_id, body):
    return client.post(f"{URL}/{linode_id}/password", json=body, headers=headers)


def root_disk(db, instance_id):
    with db.reader() as session:
        config = session.scalars(select(Config).where(Config.instance_id == instance_id)).one()
        return config.devices["sda"]


def status(client, headers, linode_id):
    return client.get(f"{URL}/{linode_id}", headers=headers).get_json()["status"]


@pytest.mark.parametrize("outcome", ["finished", "failed"])
def test_an_offline_linode_gets_a_side_job_for_its_root_disk(client, customer, db, outcome,
                                                             tmp_path):  # fmt: skip
    _, headers = customer
    ring = agent_ring(db, "pool.us-east", tmp_path / "keys")
    linode = make(client, headers, db, status="offline")
    before = counts(db)
    answer = reset(client, headers, linode["id"], {"root_pass": SECRET})
    assert answer.status_code == 200 and answer.get_json() == {}
    after = counts(db)
    assert after["jobs"] == before["jobs"] + 1 and after["events"] == before["events"] + 1
    job = last_job(db, linode["id"])
    assert job.action == "password_reset" and job.host == "pool.us-east"
    assert job.payload["disk_id"] == root_disk(db, linode["id"])
    assert opened_secret(ring, job.payload, "password") == SECRET  # sealed to the agent
    with db.reader() as session:
        event = session.scalars(select(Event).where(Event.job_id == job.id)).one()
    assert (event.action, event.entity_id) == ("password_reset", linode["id"])
    assert tables_holding(db, SECRET) == set()  # never in clear, not even in the job
    assert status(client, headers, linode["id"]) == "offline"
    finish(client, db, job, status=outcome)
    assert tables_holding(db, SECRET) == set()
    assert status(client, headers, linode["id"]) == "offline"  # a side job: no status moves
    events = client.get("/v4/account/events", headers=headers).get_json()["data"]
    assert events[0]["action"] == "password_reset" and events[0]["status"] == outcome


def test_a_stopped_linode_may_reset_too(client, customer, db):
    _, headers = customer
    linode = make(client, headers, db, status="stopped")
    assert reset(client, headers, linode["id"], {"root_pass": SECRET}).status_code == 200


@pytest.mark.parametrize("state", ["running", "booting", "provisioning"])
def test_a_linode_not_shut_down_is_refused(client, customer, db, state):
    _, headers = customer
    linode = make(client, headers, db, status=state)
    before = counts(db)
    refused = reset(client, headers, linode["id"], {"root_pass": SECRET})
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [
        {"reason": "Linode must be shut down to reset the root password."}
    ]
    assert counts(db) == before and status(client, headers, linode["id"]) == state


@pytest.mark.parametrize(
    "body, reason",
    [({"root_pass": "password123"}, "Password does not meet strength requirement"),
     ({"root_pass": "short"}, "Length must be 7-128 characters"),
     ({}, "root_pass is required"),
     ({"root_pass": None}, "root_pass is required")],
)  # fmt: skip
def test_the_password_follows_the_create_rules(client, customer, db, body, reason):
    _, headers = customer
    linode = make(client, headers, db, status="offline")
    before = counts(db)
    refused = reset(client, headers, linode["id"], body)
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [{"field": "root_pass", "reason": reason}]
    assert counts(db) == before


def test_an_unknown_field_is_refused(client, customer, db):
    _, headers = customer
    linode = make(client, headers, db, status="offline")
    refused = reset(client, headers, linode["id"], {"root_pass": SECRET, "disk_id": 1})
    assert refused.get_json()["errors"] == [{"field": "disk_id", "reason": "Unknown field"}]


def test_a_linode_without_disks_has_no_root_disk(client, customer, db):
    _, headers = customer
    made = client.post(URL, json={"type": "g6-nanode-1", "region": "us-east"}, headers=headers)
    set_status(db, made.get_json()["id"], "offline")
    refused = reset(client, headers, made.get_json()["id"], {"root_pass": SECRET})
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [
        {"reason": "This Linode has no disk to reset the root password of"}
    ]


def test_another_accounts_linode_is_not_found(client, customer, make_account, db):
    _, headers = customer
    linode = make(client, headers, db, status="offline")
    _, stranger = make_account()
    before = counts(db)
    assert reset(client, stranger, linode["id"], {"root_pass": SECRET}).status_code == 404
    assert counts(db) == before
