"""Draining a host: its GPU instances migrate to other hosts, holding both until done.

The agent's reports are played here by hand (tests/api/test_resize.py's `finish`): a
finished migration gives back the old host's share and sends it an `undefine` job; a
failed one gives back the new share and leaves the instance where it was.
"""

import pytest
from sqlalchemy import select

from cloudapi.db.jobs import Event, Job
from cloudapi.services import tokens
from tests.api.test_resize import finish, gpu, held, last_job, make
from tests.support.inventory import check_invariants
from tests.support.rows import counts

URL = "/v4/linode/instances"


def report_failed(client, db, job):
    with db.transaction() as session:
        token = tokens.create(session, host=job.host)
    answer = client.post(f"/internal/jobs/{job.id}/progress",
                         json={"status": "failed", "message": "no"},
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 200


def drain(client, admin_headers, hostname):
    answer = client.post(f"/admin/hosts/{hostname}/drain", headers=admin_headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def host_of(db, instance_id):
    (host_id,), _, _ = held(db, instance_id)
    return host_id


@pytest.fixture
def two_hosts(add_host):
    return add_host("gpu-1.us-east"), add_host("gpu-2.us-east")


def test_a_drain_moves_every_gpu_instance_and_the_host_ends_empty(
    client, employee, db, admin_headers, two_hosts
):
    _, headers = employee
    first = [make(client, headers, gpu(n), db=db) for n in (1, 2)]  # best fit: gpu-1
    hosts = {host_of(db, linode["id"]) for linode in first}
    assert len(hosts) == 1
    source = next(iter(hosts))
    done = drain(client, admin_headers, "gpu-1.us-east")
    assert sorted(done["migrating"]) == sorted(x["id"] for x in first)
    assert done["no_room"] == [] and done["busy"] == []
    for linode in first:
        shown = client.get(f"{URL}/{linode['id']}", headers=headers).get_json()
        assert shown["status"] == "migrating"
        in_flight, _, gpus = held(db, linode["id"])
        assert len(in_flight) == 2 and source in in_flight  # old and new, both held
        job = last_job(db, linode["id"])
        assert job.action == "migrate" and job.host == "gpu-2.us-east"
        with db.reader() as session:
            event = session.scalars(select(Event).where(Event.job_id == job.id)).one()
        assert event.action == "linode_migrate" and event.username == "linode"
        check_invariants(db)
        finish(client, db, job)
        assert (
            client.get(f"{URL}/{linode['id']}", headers=headers).get_json()["status"] == "running"
        )
        assert held(db, linode["id"])[0] == {host_of(db, linode["id"])} != {source}
        leave = last_job(db, linode["id"])
        assert (leave.action, leave.host) == ("undefine", "gpu-1.us-east")
    capacity = client.get("/admin/capacity?region=us-east", headers=admin_headers).get_json()
    (drained,) = [h for h in capacity["regions"][0]["hosts"] if h["hostname"] == "gpu-1.us-east"]
    assert all(n["gpus_free"] == n["gpus_total"] for n in drained["numa_nodes"])
    check_invariants(db)


def test_a_failed_migration_leaves_the_instance_where_it_was(
    client, employee, db, admin_headers, two_hosts
):
    _, headers = employee
    linode = make(client, headers, gpu(2), db=db)
    before = held(db, linode["id"])
    drain(client, admin_headers, "gpu-1.us-east")
    report_failed(client, db, last_job(db, linode["id"]))
    assert held(db, linode["id"]) == before  # its old GPUs only
    shown = client.get(f"{URL}/{linode['id']}", headers=headers).get_json()
    assert shown["status"] == "running"
    with db.reader() as session:
        assert session.scalars(select(Job).where(Job.action == "undefine")).all() == []
    check_invariants(db)


def test_no_room_elsewhere_leaves_the_instance_running(
    client, employee, db, admin_headers, add_host
):
    _, headers = employee
    add_host("gpu-1.us-east")
    linode = make(client, headers, gpu(4), db=db)
    before = counts(db)
    done = drain(client, admin_headers, "gpu-1.us-east")
    assert done == {"migrating": [], "no_room": [linode["id"]], "busy": []}
    assert counts(db) == before
    assert client.get(f"{URL}/{linode['id']}", headers=headers).get_json()["status"] == "running"
    check_invariants(db)


def test_a_busy_instance_is_left_for_the_next_drain(client, employee, db, admin_headers, two_hosts):
    _, headers = employee
    linode = make(client, headers, gpu(1))  # still provisioning
    assert drain(client, admin_headers, "gpu-1.us-east")["busy"] == [linode["id"]]


def test_a_customer_begins_a_pending_migration(client, employee, db, admin_headers, two_hosts):
    _, headers = employee
    linode = make(client, headers, gpu(1), db=db)
    url = f"{URL}/{linode['id']}/migrate"
    refused = client.post(url, json={}, headers=headers)
    assert refused.get_json()["errors"] == [{"reason": "This Linode has no pending migration"}]
    before = counts(db)
    nowhere = client.post(url, json={"region": "eu-west"}, headers=headers)  # no GPUs there
    assert nowhere.status_code == 400
    assert nowhere.get_json()["errors"][0]["reason"].startswith("No other host in eu-west")
    assert client.post(url, json={"region": "xx-nope"}, headers=headers).get_json() == {
        "errors": [{"field": "region", "reason": "region is not valid"}]}  # fmt: skip
    assert counts(db) == before
    client.post("/admin/hosts/gpu-1.us-east/status", json={"status": "draining"},
                headers=admin_headers)  # fmt: skip
    assert client.post(url, json={"type": "cold"}, headers=headers).get_json() == {}
    assert last_job(db, linode["id"]).action == "migrate"
    busy = client.post(url, json={}, headers=headers)
    assert busy.get_json()["errors"] == [{"reason": "Linode busy."}]
