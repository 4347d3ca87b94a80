"""Firewall devices: attaching Linodes, one firewall per Linode, a Linode's firewalls, and
the job (for the host agent) and event each change writes in its own transaction."""

import pytest
from sqlalchemy import select

from cloudapi.db.jobs import Event, Job
from cloudapi.errors import Invalid
from cloudapi.services import firewall_devices, firewall_outbox, instances, jobs, outbox
from tests.api.test_firewalls import RULES, SSH, URL, create, errors_of, written

LINODE = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
          "root_pass": "Gpu-Demo-2026!x"}  # fmt: skip


def linode(client, headers, label):
    response = client.post("/v4/linode/instances", json={**LINODE, "label": label},
                           headers=headers)  # fmt: skip
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id"]


def applies(db, instance_id):
    """The firewall_apply jobs of one Linode, oldest first: (firewall_id, status, rules)."""
    with db.reader() as session:
        found = session.scalars(select(Job).where(Job.instance_id == instance_id,
                                                  Job.action == "firewall_apply")
                                .order_by(Job.created))  # fmt: skip
        return [(j.payload["firewall_id"], j.payload["status"], j.payload["rules"]) for j in found]


def attach(client, headers, firewall_id, instance_id):
    return client.post(f"{URL}/{firewall_id}/devices", json={"id": instance_id, "type": "linode"},
                       headers=headers)  # fmt: skip


def test_attach_list_view_detach(client, customer, db):
    _, headers = customer
    web = linode(client, headers, "web-1")
    firewall = create(client, headers).get_json()
    before = written(db)
    response = attach(client, headers, firewall["id"], web)
    assert response.status_code == 200
    device = response.get_json()
    entity = {"id": web, "label": "web-1", "type": "linode", "url": f"/v4/linode/instances/{web}"}
    assert device["entity"] == entity and set(device) == {"id", "created", "updated", "entity"}
    after = written(db)
    assert {k: after[k] - before[k] for k in after} == {
        "firewalls": 0, "firewall_devices": 1, "events": 1, "jobs": 1}  # fmt: skip
    url = f"{URL}/{firewall['id']}/devices"
    assert client.get(url, headers=headers).get_json()["data"] == [device]
    assert client.get(f"{url}/{device['id']}", headers=headers).get_json() == device
    assert client.get(f"{URL}/{firewall['id']}", headers=headers).get_json()["entities"] == [entity]
    listed = client.get(f"/v4/linode/instances/{web}/firewalls", headers=headers).get_json()
    assert [f["id"] for f in listed["data"]] == [firewall["id"]] and listed["results"] == 1
    event = client.get("/v4/account/events", headers=headers).get_json()["data"][0]
    assert event["action"] == "firewall_device_add"
    secondary = {**entity, "id": str(web)}  # a string, as Linode's spec has it
    assert event["entity"]["id"] == firewall["id"] and event["secondary_entity"] == secondary
    rules = client.get(f"{URL}/{firewall['id']}/rules", headers=headers).get_json()
    assert applies(db, web) == [(firewall["id"], "enabled", rules)]

    assert client.delete(f"{url}/{device['id']}", headers=headers).get_json() == {}
    assert client.get(f"{url}/{device['id']}", headers=headers).status_code == 404
    assert client.get(url, headers=headers).get_json()["results"] == 0
    assert applies(db, web)[-1] == (None, None, None)
    removed = client.get("/v4/account/events", headers=headers).get_json()["data"][0]
    assert (removed["action"], removed["secondary_entity"]) == ("firewall_device_remove",
                                                                secondary)  # fmt: skip
    empty = client.get(f"/v4/linode/instances/{web}/firewalls", headers=headers).get_json()
    assert empty["data"] == []


def test_every_change_reaches_every_attached_linode(client, customer, db):
    _, headers = customer
    one, two = linode(client, headers, "node-1"), linode(client, headers, "node-2")
    firewall = create(client, headers, devices={"linodes": [one, two]}).get_json()
    assert [e["id"] for e in firewall["entities"]] == [one, two]
    url = f"{URL}/{firewall['id']}"
    new_rules = client.put(f"{url}/rules", json={"inbound": [SSH, SSH]}, headers=headers)
    rules = new_rules.get_json()
    client.put(url, json={"status": "disabled"}, headers=headers)
    client.put(url, json={"label": "fw-renamed"}, headers=headers)  # nothing for the hosts
    client.delete(url, headers=headers)
    for instance_id in (one, two):
        found = applies(db, instance_id)
        assert [(f, s) for f, s, _ in found] == [
            (firewall["id"], "enabled"), (firewall["id"], "enabled"),
            (firewall["id"], "disabled"), (None, None)]  # fmt: skip
        assert found[1][2] == rules and found[2][2] is None and found[3][2] is None
    with db.reader() as session:
        job = session.scalars(
            select(Job).where(Job.instance_id == one, Job.action == "firewall_apply")
        ).first()
        assert job.host == outbox.queue_of(session, job_instance(session, one))
        assert job.payload["instance_id"] == one


def job_instance(session, instance_id):
    from cloudapi.db.instances import Instance

    return session.get(Instance, instance_id)


def test_a_linode_is_in_at_most_one_firewall(client, customer, db):
    _, headers = customer
    web = linode(client, headers, "web-1")
    first = create(client, headers, label="fw-first").get_json()
    second = create(client, headers, label="fw-second").get_json()
    assert attach(client, headers, first["id"], web).status_code == 200
    before = written(db)
    taken = f"Linode {web} already has an assigned Firewall"
    for target in (first, second):
        assert errors_of(attach(client, headers, target["id"], web)) == [("id", taken)]
    on_create = create(client, headers, label="fw-third", devices={"linodes": [web]})
    assert errors_of(on_create) == [("devices.linodes[0]", taken)]
    assert written(db) == before
    twice = create(client, headers, label="fw-four", devices={"linodes": [linode(
        client, headers, "web-2")] * 2})  # fmt: skip
    assert twice.status_code == 200 and len(twice.get_json()["entities"]) == 1


def test_another_accounts_linode_cannot_be_attached(client, make_account, db):
    _, mine = make_account()
    _, theirs = make_account()
    their_linode = linode(client, theirs, "theirs-1")
    firewall = create(client, mine).get_json()
    before = written(db)
    for body in ({"id": their_linode, "type": "linode"}, {"id": 2**40, "type": "linode"},
                 {"id": 10**30, "type": "linode"}, {"id": 1, "type": "nodebalancer"}):  # fmt: skip
        response = client.post(f"{URL}/{firewall['id']}/devices", json=body, headers=mine)
        assert response.status_code == 404 and errors_of(response) == [(None, "Not found")]
    devices = {"linodes": [their_linode], "nodebalancers": [1]}
    refused = create(client, mine, label="fw-two", devices=devices)
    assert errors_of(refused) == [("devices.nodebalancers[0]", "Not found"),
                                  ("devices.linodes[0]", "Not found")]  # fmt: skip
    assert client.get(f"/v4/linode/instances/{their_linode}/firewalls",
                      headers=mine).status_code == 404  # fmt: skip
    assert written(db) == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"type": "linode"}, [("id", "id is required")]),
        ({"id": 1}, [("type", "type is required")]),
        ({"id": "1", "type": "linode"}, [("id", "Not a valid integer.")]),
        ({"id": 1, "type": "volume"}, [("type", "Must be one of: linode, nodebalancer.")]),
        ({"id": 1, "type": "linode", "label": "x"}, [("label", "Unknown field")]),
    ],
)
def test_bad_device_bodies(client, customer, db, body, errors):
    firewall = create(client, customer[1]).get_json()
    before = written(db)
    response = client.post(f"{URL}/{firewall['id']}/devices", json=body, headers=customer[1])
    assert errors_of(response) == errors and written(db) == before


def test_a_deleted_linode_leaves_its_firewall(client, customer, db):
    _, headers = customer
    web = linode(client, headers, "web-1")
    firewall = create(client, headers, devices={"linodes": [web]}).get_json()
    client.delete(f"/v4/linode/instances/{web}", headers=headers)
    view = client.get(f"{URL}/{firewall['id']}", headers=headers).get_json()
    assert view["entities"] == []
    assert client.get(f"{URL}/{firewall['id']}/devices", headers=headers).get_json()["data"] == []
    count = len(applies(db, web))
    client.put(f"{URL}/{firewall['id']}/rules", json=RULES, headers=headers)
    assert len(applies(db, web)) == count  # no more jobs for a deleted Linode


def test_attach_on_create_within_the_callers_transaction(client, make_account, db):
    account_id, headers = make_account()
    _, others = make_account()
    web = linode(client, headers, "web-1")
    mine = create(client, headers).get_json()
    theirs = create(client, others, label="fw-theirs").get_json()
    for firewall_id in (theirs["id"], 999_999, 2**40):
        with pytest.raises(Invalid) as refused, db.transaction() as session:
            instance = instances.get(session, account_id, web)
            firewall_devices.attach_on_create(session, instance, firewall_id)
        assert refused.value.errors == [{"field": "firewall_id", "reason": "Firewall not found"}]
    assert applies(db, web) == []
    with db.transaction() as session:
        instance = instances.get(session, account_id, web)
        device = firewall_devices.attach_on_create(session, instance, mine["id"])
        assert device.firewall.id == mine["id"]
    assert [f for f, _, _ in applies(db, web)] == [mine["id"]]
    events = client.get("/v4/account/events", headers=headers).get_json()["data"]
    assert events[0]["action"] == "firewall_device_add" and events[0]["username"]


def test_apply_endpoint_and_agent_reports(client, customer, db):
    _, headers = customer
    web = linode(client, headers, "web-1")
    firewall = create(client, headers, devices={"linodes": [web]}).get_json()
    status = client.get(f"/v4/linode/instances/{web}", headers=headers).get_json()["status"]
    assert client.post(f"/v4/linode/instances/{web}/firewalls/apply",
                       headers=headers).get_json() == {}  # fmt: skip
    event = client.get("/v4/account/events", headers=headers).get_json()["data"][0]
    assert (event["action"], event["status"], event["entity"]["type"]) == (
        "firewall_apply", "scheduled", "linode")  # fmt: skip
    with db.reader() as session:
        found = session.scalars(select(Job).where(Job.instance_id == web,
                                                  Job.action == "firewall_apply")
                                .order_by(Job.created)).all()  # fmt: skip
    added, applied = found
    assert applied.payload["rules"]["version"] == firewall["rules"]["version"]
    # The host agent reports both: jobs move, the instance status does not.
    assert jobs.progress(db, applied.host, added.id, {"status": "finished"}) == "done"
    assert jobs.progress(db, applied.host, applied.id, {"status": "started"}) == "running"
    assert jobs.progress(db, applied.host, applied.id,
                         {"status": "failed", "message": "nwfilter"}) == "error"  # fmt: skip
    with db.reader() as session:
        failed = session.scalar(select(Event).where(Event.job_id == applied.id))
        assert (failed.status, failed.message) == ("failed", "nwfilter")
    after = client.get(f"/v4/linode/instances/{web}", headers=headers).get_json()["status"]
    assert after == status
    assert client.post(f"/v4/linode/instances/{2**40}/firewalls/apply",
                       headers=headers).status_code == 404  # fmt: skip


def test_a_change_that_fails_half_way_leaves_nothing(client, customer, db, monkeypatch):
    """The device, its job and its event are one transaction: a failure writes none."""
    _, headers = customer
    web = linode(client, headers, "web-1")
    firewall = create(client, headers).get_json()
    before = written(db)

    def broken(*args, **kwargs):
        raise RuntimeError("the event table is on fire")

    monkeypatch.setattr(firewall_outbox, "record", broken)
    assert attach(client, headers, firewall["id"], web).status_code == 500
    assert client.put(f"{URL}/{firewall['id']}/rules", json=RULES,
                      headers=headers).status_code == 500  # fmt: skip
    assert written(db) == before and applies(db, web) == []
    monkeypatch.undo()
    assert attach(client, headers, firewall["id"], web).status_code == 200
