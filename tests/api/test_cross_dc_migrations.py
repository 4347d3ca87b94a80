"""POST /linode/instances/{id}/migrate with `region`: a move to another data center.

The instance holds both places until the new side's agent reports (played here by hand,
as in test_migrations.py): its reservation there (GPU plans), one address of each kind
it has there, and the old ones. Finished, the old side's share and addresses go and the
old side undefines its copy; failed, the new ones go and the instance is where it was.
Linode's events: a `linode_migrate_datacenter_create` notice with the request, and the
`linode_migrate_datacenter` event once the agent starts.
"""

import ipaddress

from sqlalchemy import select

from cloudapi.db.addresses import Address, AddressPool
from cloudapi.db.jobs import Event, Job
from cloudapi.services import tokens
from tests.api.test_migrations import report_failed
from tests.api.test_resize import finish, gpu, held, last_job, make
from tests.support.inventory import check_invariants
from tests.support.rows import counts

URL = "/v4/linode/instances"


def migrate(client, headers, linode_id, **body):
    return client.post(f"{URL}/{linode_id}/migrate", json=body, headers=headers)


def regions_of_addresses(db, instance_id):
    with db.reader() as session:
        rows = session.execute(
            select(AddressPool.region_id, Address.address)
            .join(AddressPool, Address.pool_id == AddressPool.id)
            .where(Address.instance_id == instance_id)
        ).all()
    return sorted(region for region, _ in rows)


def events_of(db, instance_id):
    with db.reader() as session:
        found = session.scalars(select(Event).where(Event.entity_id == instance_id)
                                .order_by(Event.id))  # fmt: skip
        return [(e.action, e.status) for e in found if e.action.startswith("linode_migrate")]


def report(client, db, job, **body):
    with db.transaction() as session:
        token = tokens.create(session, host=job.host)
    answer = client.post(f"/internal/jobs/{job.id}/progress", json=body,
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 200, answer.get_json()


def test_a_linode_moves_to_another_data_center_with_new_addresses(client, customer, db):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2", db=db)
    old_ipv4 = linode["ipv4"][0]
    assert migrate(client, headers, linode["id"], region="eu-west").get_json() == {}
    shown = client.get(f"{URL}/{linode['id']}", headers=headers).get_json()
    assert (shown["status"], shown["region"], shown["ipv4"]) == ("migrating", "us-east", [old_ipv4])
    assert regions_of_addresses(db, linode["id"]) == ["eu-west"] * 2 + ["us-east"] * 2
    job = last_job(db, linode["id"])
    assert (job.action, job.host) == ("migrate", "pool.eu-west")
    assert events_of(db, linode["id"]) == [("linode_migrate_datacenter_create", "notification")]
    report(client, db, job, status="started", instance_status="offline")  # a cold copy
    assert client.get(f"{URL}/{linode['id']}", headers=headers).get_json()["status"] == "offline"
    boot = client.post(f"{URL}/{linode['id']}/boot", json={}, headers=headers)
    assert boot.status_code == 400 and boot.get_json()["errors"] == [{"reason": "Linode busy."}]
    finish(client, db, job)
    shown = client.get(f"{URL}/{linode['id']}", headers=headers).get_json()
    assert (shown["status"], shown["region"]) == ("running", "eu-west")
    assert shown["ipv4"] != [old_ipv4] and regions_of_addresses(db, linode["id"]) == ["eu-west"] * 2
    ips = client.get(f"{URL}/{linode['id']}/ips", headers=headers).get_json()
    assert ips["ipv4"]["public"][0]["region"] == "eu-west"
    assert ipaddress.ip_address(ips["ipv6"]["slaac"]["address"])
    leave = last_job(db, linode["id"])
    assert (leave.action, leave.host) == ("undefine", "pool.us-east")
    assert events_of(db, linode["id"]) == [("linode_migrate_datacenter_create", "notification"),
                                           ("linode_migrate_datacenter", "finished")]  # fmt: skip


def test_a_failed_move_keeps_the_linode_where_it_was(client, customer, db):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2", status="offline", db=db)
    migrate(client, headers, linode["id"], region="eu-west")
    report_failed(client, db, last_job(db, linode["id"]))
    shown = client.get(f"{URL}/{linode['id']}", headers=headers).get_json()
    assert (shown["status"], shown["region"]) == ("offline", "us-east")
    assert shown["ipv4"] == linode["ipv4"]
    assert regions_of_addresses(db, linode["id"]) == ["us-east"] * 2
    with db.reader() as session:
        assert session.scalars(select(Job).where(Job.action == "undefine")).all() == []


def test_a_gpu_linode_reserves_in_the_new_region_and_frees_the_old(client, employee, db, add_host):
    _, headers = employee
    add_host("gpu-1.us-east")
    add_host("gpu-1.eu-west", region="eu-west")
    linode = make(client, headers, gpu(2), db=db)
    (old_host,), _, _ = held(db, linode["id"])
    assert migrate(client, headers, linode["id"], region="eu-west").get_json() == {}
    in_flight, _, gpus = held(db, linode["id"])
    assert len(in_flight) == 2 and old_host in in_flight and gpus == 4  # both held
    check_invariants(db)
    job = last_job(db, linode["id"])
    assert job.host == "gpu-1.eu-west" and job.payload["region"] == "eu-west"
    finish(client, db, job)
    (new_host,), _, gpus = held(db, linode["id"])
    assert new_host != old_host and gpus == 2
    assert last_job(db, linode["id"]).host == "gpu-1.us-east"  # undefine the old copy
    check_invariants(db)


def test_a_delete_during_the_move_frees_both_sides(client, customer, db):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2", db=db)
    migrate(client, headers, linode["id"], region="eu-west")
    assert client.delete(f"{URL}/{linode['id']}", headers=headers).status_code == 200
    assert regions_of_addresses(db, linode["id"]) == []
    with db.reader() as session:
        jobs = session.scalars(select(Job).where(Job.instance_id == linode["id"])).all()
    sent = {(j.action, j.host) for j in jobs}
    assert {("delete", "pool.us-east"), ("undefine", "pool.eu-west")} <= sent


def test_an_unknown_region_changes_nothing(client, customer, db):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2", db=db)
    before = counts(db)
    refused = migrate(client, headers, linode["id"], region="mars-1")
    assert refused.status_code == 400
    assert refused.get_json() == {"errors": [{"field": "region", "reason": "region is not valid"}]}
    assert counts(db) == before
