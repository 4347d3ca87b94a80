"""POST /linode/instances/{id}/resize: plans, GPU reservations, the gate, and the job.

Linode's texts (linode-cli's own suite asserts them against Linode): "Linode is already
running this service plan." and "A valid plan type by that ID was not found".
"""

import pytest
from sqlalchemy import select

from cloudapi.db.inventory import Allocation, Gpu
from cloudapi.db.jobs import Event, Job
from cloudapi.services import tokens
from tests.support.inventory import check_invariants
from tests.support.rows import counts, set_status

URL = "/v4/linode/instances"
BODY = {"region": "us-east", "image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x"}


def gpu(n):
    return f"g1-gpu-rtx6000-{n}"


def make(client, headers, plan, status="running", db=None, image=True):
    body = {**BODY, "type": plan} if image else {"region": BODY["region"], "type": plan}
    linode = client.post(URL, json=body, headers=headers).get_json()
    if db is not None:
        set_status(db, linode["id"], status)
    return linode


def resize(client, headers, linode_id, plan, **extra):
    return client.post(f"{URL}/{linode_id}/resize", json={"type": plan, **extra}, headers=headers)


def held(db, instance_id):
    """(hostname-less) host id, NUMA node ids and GPU count the instance holds now."""
    with db.reader() as session:
        mine = (Allocation.instance_id == instance_id, Allocation.released_at.is_(None))
        live = session.scalars(select(Allocation).where(*mine)).all()
        gpus = session.scalars(select(Gpu.id).where(Gpu.instance_id == instance_id)).all()
    return {a.host_id for a in live}, {a.numa_node_id for a in live}, len(gpus)


def last_job(db, instance_id):
    with db.reader() as session:
        query = select(Job).where(Job.instance_id == instance_id).order_by(Job.created.desc())
        return session.scalars(query).first()


def finish(client, db, job, **extra):
    with db.transaction() as session:
        token = tokens.create(session, host=job.host)
    answer = client.post(f"/internal/jobs/{job.id}/progress", json={"status": "finished", **extra},
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 200, answer.get_json()


def test_a_standard_resize_writes_its_job_and_event_and_boots_as_it_was(client, customer, db):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2", db=db)
    answer = resize(client, headers, linode["id"], "g6-standard-4")
    assert answer.status_code == 200 and answer.get_json() == {}
    shown = client.get(f"{URL}/{linode['id']}", headers=headers).get_json()
    assert shown["status"] == "resizing" and shown["type"] == "g6-standard-4"
    job = last_job(db, linode["id"])
    assert job.action == "resize" and job.payload["from_type"] == "g6-standard-2"
    assert job.payload["booted"] is True and job.payload["placement"] is None
    assert job.payload["specs"]["vcpus"] == shown["specs"]["vcpus"]
    assert events_of(db, job) == [("linode_resize_create", "notification")]
    finish(client, db, job)
    assert client.get(f"{URL}/{linode['id']}", headers=headers).get_json()["status"] == "running"
    # The resize's own event appears once the agent reports, after the request (Linode's
    # pollers wait for a linode_resize that was not there when they started).
    assert events_of(db, job) == [("linode_resize_create", "notification"),
                                  ("linode_resize", "finished")]  # fmt: skip


def events_of(db, job):
    with db.reader() as session:
        found = session.scalars(select(Event).where(Event.job_id == job.id).order_by(Event.id))
        return [(e.action, e.status) for e in found]


def test_an_offline_instance_stays_offline(client, customer, db):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2", status="offline", db=db)
    resize(client, headers, linode["id"], "g6-standard-4")
    finish(client, db, last_job(db, linode["id"]))
    assert client.get(f"{URL}/{linode['id']}", headers=headers).get_json()["status"] == "offline"


@pytest.mark.parametrize(
    "plan, field, reason",
    [("g6-standard-2", "type", "Linode is already running this service plan."),
     ("g6-nope-1", "type", "A valid plan type by that ID was not found"),
     (gpu(1), "type", "A valid plan type by that ID was not found")],  # hidden from customers
)  # fmt: skip
def test_refusals_change_nothing(client, customer, db, gpu_hosts, plan, field, reason):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2", db=db)
    before = counts(db)
    refused = resize(client, headers, linode["id"], plan)
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [{"field": field, "reason": reason}]
    assert counts(db) == before
    assert client.get(f"{URL}/{linode['id']}", headers=headers).get_json()["status"] == "running"


def test_a_busy_instance_is_refused(client, customer, db):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2")  # still provisioning
    refused = resize(client, headers, linode["id"], "g6-standard-4")
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [{"reason": "Linode busy."}]


def test_another_accounts_linode_is_not_found(client, customer, make_account, db):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2", db=db)
    _, stranger = make_account()
    assert resize(client, stranger, linode["id"], "g6-standard-4").status_code == 404


def test_into_a_gpu_plan_and_back_reserves_then_releases_exactly(client, employee, db, gpu_hosts):
    _, headers = employee
    linode = make(client, headers, "g6-standard-2", db=db)
    grow = {"allow_auto_disk_resize": False}  # so that its disks still fit when it goes back
    assert resize(client, headers, linode["id"], gpu(2), **grow).status_code == 200
    hosts, nodes, gpus = held(db, linode["id"])
    assert len(hosts) == 1 and len(nodes) == 1 and gpus == 2
    job = last_job(db, linode["id"])
    assert job.host.startswith("gpu-") and job.payload["from_host"] == "pool.us-east"
    assert len(job.payload["placement"]["nodes"][0]["gpus"]) == 2
    check_invariants(db)
    finish(client, db, job)
    assert resize(client, headers, linode["id"], "g6-standard-2").status_code == 200
    assert held(db, linode["id"]) == (set(), set(), 0)
    assert last_job(db, linode["id"]).payload["from_host"] == job.host
    check_invariants(db)


def test_a_gpu_resize_grows_in_place_when_the_node_allows(client, employee, db, add_host):
    _, headers = employee
    add_host("gpu-1.us-east")  # 2 nodes x 4 GPUs
    add_host("gpu-2.us-east")
    linode = make(client, headers, gpu(1), db=db)
    before_hosts, before_nodes, _ = held(db, linode["id"])
    assert resize(client, headers, linode["id"], gpu(4)).status_code == 200
    assert held(db, linode["id"]) == (before_hosts, before_nodes, 4)
    check_invariants(db)


def test_a_gpu_resize_moves_when_its_host_is_full(client, employee, db, add_host):
    _, headers = employee
    add_host("gpu-1.us-east")
    linode = make(client, headers, gpu(2), db=db)
    others = [make(client, headers, gpu(n)) for n in (2, 4)]  # gpu-1 is now full
    assert all(o.get("id") for o in others)
    (first_host,), _, _ = held(db, linode["id"])
    add_host("gpu-2.us-east")
    assert resize(client, headers, linode["id"], gpu(4)).status_code == 200
    (new_host,), _, gpus = held(db, linode["id"])
    assert new_host != first_host and gpus == 4
    assert last_job(db, linode["id"]).host == "gpu-2.us-east"
    check_invariants(db)


def test_a_sold_out_region_is_a_clean_400(client, employee, db, add_host):
    _, headers = employee
    add_host("gpu-1.us-east")
    linode = make(client, headers, gpu(2), db=db)
    make(client, headers, gpu(2))  # best fit: beside the first, filling its node
    make(client, headers, gpu(4))  # and the other node: the host is full
    before, was = counts(db), held(db, linode["id"])
    refused = resize(client, headers, linode["id"], gpu(4))
    assert refused.status_code == 400
    assert refused.get_json()["errors"][0]["reason"].startswith("No capacity for")
    assert counts(db) == before and held(db, linode["id"]) == was
    shown = client.get(f"{URL}/{linode['id']}", headers=headers).get_json()
    assert shown["type"] == gpu(2) and shown["status"] == "running"
    check_invariants(db)


def test_without_the_feature_out_of_a_gpu_plan_but_not_into_one(
    client, employee, db, gpu_hosts, admin_headers
):
    """Once the account loses the feature (as after a rollback), leaving a GPU plan works."""
    account_id, headers = employee
    linode = make(client, headers, gpu(1), db=db, image=False)  # no disks to outgrow a plan
    untagged = client.delete(f"/admin/accounts/{account_id}/tags/employee", headers=admin_headers)
    assert untagged.status_code == 200
    refused = resize(client, headers, linode["id"], gpu(2))
    assert refused.get_json()["errors"] == [
        {"field": "type", "reason": "A valid plan type by that ID was not found"}
    ]
    assert resize(client, headers, linode["id"], "g6-standard-2").status_code == 200
    assert held(db, linode["id"]) == (set(), set(), 0)
    check_invariants(db)


def _disks(client, headers, linode_id):
    listed = client.get(f"{URL}/{linode_id}/disks", headers=headers).get_json()["data"]
    return {d["filesystem"]: d["size"] for d in listed}


def test_a_smaller_plan_must_hold_the_disks(client, customer, db):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2", db=db)
    before = counts(db)
    refused = resize(client, headers, linode["id"], "g6-nanode-1")
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [{"field": "type", "reason": (
        "Linode has allocated more disk than the new service plan allows. "
        "Delete or resize disks smaller.")}]  # fmt: skip
    assert counts(db) == before


@pytest.mark.parametrize("auto", [True, False])
def test_growing_with_auto_disk_resize_grows_the_root_disk(client, customer, db, auto):
    _, headers = customer
    linode = make(client, headers, "g6-standard-2", db=db)  # 81920 MB: root 81408 + swap 512
    assert _disks(client, headers, linode["id"]) == {"ext4": 81408, "swap": 512}
    resize(client, headers, linode["id"], "g6-standard-4", allow_auto_disk_resize=auto)
    root = 81408 + (163840 - 81920) if auto else 81408
    assert _disks(client, headers, linode["id"]) == {"ext4": root, "swap": 512}
    grown = last_job(db, linode["id"]).payload["disks"]
    assert [d["size"] for d in grown] == ([root] if auto else [])
