"""POST /linode/instances/{id}/clone: to a new Linode (its own addresses, copies of the
source's disks and configs, a GPU plan reserved as a create reserves it, gated as a create
is) or onto an existing shut-down one; one `clone` job on the target's queue and one
`linode_clone` event on the source naming the target."""

import pytest
from sqlalchemy import select

from cloudapi.agent.consumer import Agent
from cloudapi.agent.driver import SimulatedDriver
from cloudapi.db.disks import Config, Disk
from cloudapi.db.jobs import Event
from tests.api.test_rebuild import ApiReporter, counts, make, parts, run_job
from tests.api.test_resize import finish, held, last_job
from tests.support.inventory import check_invariants
from tests.support.rows import set_status

URL = "/v4/linode/instances"
NEW = {"region": "us-east", "type": "g6-standard-2"}


def clone(client, headers, linode_id, body):
    return client.post(f"{URL}/{linode_id}/clone", json=body, headers=headers)


def status(client, headers, linode_id):
    return client.get(f"{URL}/{linode_id}", headers=headers).get_json()["status"]


def disks_of(db, instance_id):
    with db.reader() as session:
        rows = session.scalars(
            select(Disk).where(Disk.instance_id == instance_id).order_by(Disk.id)
        )
        return [(d.id, d.label, d.filesystem, d.size) for d in rows]


def configs_of(db, instance_id):
    with db.reader() as session:
        query = select(Config).where(Config.instance_id == instance_id).order_by(Config.id)
        return [(c.id, c.label, c.kernel, dict(c.devices)) for c in session.scalars(query)]


def event_of(db, job):
    with db.reader() as session:
        return session.scalars(select(Event).where(Event.job_id == job.id)).one()


def test_a_clone_to_a_new_linode_copies_disks_and_configs(client, customer, db):
    _, headers = customer
    source = make(client, headers, db)
    was = parts(db, source["id"])
    before = counts(db)
    answer = clone(client, headers, source["id"], {**NEW, "label": "web-clone"})
    assert answer.status_code == 200, answer.get_json()
    target = answer.get_json()
    assert target["id"] != source["id"] and target["label"] == "web-clone"
    assert target["status"] == "provisioning" and target["image"] == "linode/debian12"
    assert not set(target["ipv4"]) & set(source["ipv4"]) and target["ipv6"] != source["ipv6"]
    copies, originals = disks_of(db, target["id"]), disks_of(db, source["id"])
    assert [c[1:] for c in copies] == [o[1:] for o in originals]
    assert not {c[0] for c in copies} & {o[0] for o in originals}
    (config,), (original,) = configs_of(db, target["id"]), configs_of(db, source["id"])
    remap = {o[0]: c[0] for o, c in zip(originals, copies, strict=True)}
    assert config[1:3] == original[1:3] and config[0] != original[0]
    assert config[3] == {slot: remap[d] for slot, d in original[3].items()}
    assert parts(db, source["id"]) == was and status(client, headers, source["id"]) == "running"
    after = counts(db)
    assert (after["jobs"], after["events"]) == (before["jobs"] + 1, before["events"] + 1)
    job = last_job(db, target["id"])
    assert job.action == "clone" and job.host == "pool.us-east"
    assert job.payload["source_instance_id"] == source["id"]
    assert job.payload["source_host"] == "pool.us-east" and job.payload["placement"] is None
    assert [d["disk_id"] for d in job.payload["disks"]] == [c[0] for c in copies]
    event = event_of(db, job)
    assert (event.action, event.entity_id) == ("linode_clone", source["id"])
    assert (event.secondary_entity_type, event.secondary_entity_id) == ("linode", str(target["id"]))
    shown = client.get("/v4/account/events", headers=headers).get_json()["data"][0]
    assert shown["entity"]["id"] == source["id"]
    assert shown["secondary_entity"]["label"] == "web-clone"
    finish(client, db, job)
    assert status(client, headers, target["id"]) == "offline"  # Linode does not boot a clone
    assert status(client, headers, source["id"]) == "running"


def test_the_clone_gets_the_source_tags_and_a_default_label(client, customer, db):
    _, headers = customer
    made = client.post(URL, json={**NEW, "image": "linode/debian12", "tags": ["web"],
                                  "root_pass": "Gpu-Demo-2026!x"}, headers=headers)  # fmt: skip
    set_status(db, made.get_json()["id"], "offline")
    target = clone(client, headers, made.get_json()["id"], {**NEW, "private_ip": True}).get_json()
    assert target["tags"] == ["web"] and target["label"] == f"linode{target['id']}"
    assert any(ip.startswith("192.168.") for ip in target["ipv4"])


def test_only_the_configs_and_disks_named_are_copied(client, customer, db):
    _, headers = customer
    source = make(client, headers, db)
    swap = [d for d in disks_of(db, source["id"]) if d[2] == "swap"][0]
    body = {**NEW, "configs": [], "disks": [swap[0]]}
    target = clone(client, headers, source["id"], body).get_json()
    assert [d[1:] for d in disks_of(db, target["id"])] == [swap[1:]]
    assert configs_of(db, target["id"]) == []


def test_a_clone_into_a_gpu_plan_reserves_like_a_create(client, employee, db, gpu_hosts):
    _, headers = employee
    source = make(client, headers, db)
    answer = clone(client, headers, source["id"], {**NEW, "type": "g1-gpu-rtx6000-2"})
    assert answer.status_code == 200, answer.get_json()
    target = answer.get_json()
    hosts, nodes, gpus = held(db, target["id"])
    assert len(hosts) == 1 and len(nodes) == 1 and gpus == 2
    job = last_job(db, target["id"])
    assert job.host in gpu_hosts and job.payload["source_host"] == "pool.us-east"
    assert len(job.payload["placement"]["nodes"][0]["gpus"]) == 2
    assert job.payload["numa_affinity"] == "strict"
    check_invariants(db)
    finish(client, db, job)
    assert held(db, target["id"]) == (hosts, nodes, gpus)
    check_invariants(db)


def test_a_failed_gpu_clone_into_a_new_linode_gives_its_gpus_back(client, employee, db, gpu_hosts):
    """As a failed create does: the new Linode sits offline and holds nothing."""
    _, headers = employee
    source = make(client, headers, db)
    target = clone(client, headers, source["id"], {**NEW, "type": "g1-gpu-rtx6000-2"}).get_json()
    assert held(db, target["id"])[2] == 2
    finish(client, db, last_job(db, target["id"]), status="failed", message="copy failed")
    assert held(db, target["id"]) == (set(), set(), 0)
    assert status(client, headers, target["id"]) == "offline"
    check_invariants(db)


def test_a_hidden_gpu_plan_is_not_found_for_a_customer(client, customer, db, gpu_hosts):
    _, headers = customer
    source = make(client, headers, db)
    before = counts(db)
    refused = clone(client, headers, source["id"], {**NEW, "type": "g1-gpu-rtx6000-1"})
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [
        {"field": "type", "reason": "A valid plan type by that ID was not found"}
    ]
    assert counts(db) == before


def test_a_sold_out_gpu_clone_writes_nothing(client, employee, db, add_host):
    _, headers = employee
    add_host("gpu-1.us-east")
    source = make(client, headers, db)
    for _ in range(2):  # two 4-GPU Linodes fill both nodes of the only host
        assert make(client, headers, db, plan="g1-gpu-rtx6000-4")["id"]
    before = counts(db)
    refused = clone(client, headers, source["id"], {**NEW, "type": "g1-gpu-rtx6000-1"})
    assert refused.status_code == 400
    assert refused.get_json()["errors"][0]["reason"].startswith("No capacity for")
    assert counts(db) == before
    check_invariants(db)


def test_copies_must_fit_the_target_plan(client, customer, db):
    _, headers = customer
    source = make(client, headers, db)
    before = counts(db)
    refused = clone(client, headers, source["id"], {**NEW, "type": "g6-nanode-1"})
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [
        {"reason": "Not enough free disk space on this Linode (25600 MB unallocated)"}
    ]
    assert counts(db) == before


def test_a_clone_onto_an_existing_offline_linode_replaces_its_disks(client, customer, db):
    _, headers = customer
    source = make(client, headers, db)
    existing = make(client, headers, db, status="offline")
    old = disks_of(db, existing["id"])
    old_ips = parts(db, existing["id"])[2]
    answer = clone(client, headers, source["id"], {"linode_id": existing["id"]})
    assert answer.status_code == 200, answer.get_json()
    shown = answer.get_json()
    assert shown["id"] == existing["id"] and shown["status"] == "cloning"
    copies = disks_of(db, existing["id"])
    assert [c[1:] for c in copies] == [d[1:] for d in disks_of(db, source["id"])]
    assert not {c[0] for c in copies} & {d[0] for d in old}
    (config,) = configs_of(db, existing["id"])
    assert set(config[3].values()) == {c[0] for c in copies}
    assert parts(db, existing["id"])[2] == old_ips
    job = last_job(db, existing["id"])
    assert job.action == "clone" and job.payload["source_instance_id"] == source["id"]
    assert event_of(db, job).entity_id == source["id"]
    finish(client, db, job)
    assert status(client, headers, existing["id"]) == "offline"


@pytest.mark.parametrize(
    "state, reason",
    [("running", "Linode must be shut down to be cloned onto."), ("rebooting", "Linode busy.")],
)
def test_an_existing_target_must_be_shut_down(client, customer, db, state, reason):
    _, headers = customer
    source = make(client, headers, db)
    existing = make(client, headers, db, status=state)
    before = counts(db)
    refused = clone(client, headers, source["id"], {"linode_id": existing["id"]})
    assert refused.status_code == 400
    assert refused.get_json()["errors"][0]["reason"] == reason
    assert counts(db) == before


@pytest.mark.parametrize(
    "body, errors",
    [({"region": "us-east"}, [("type", "type is required")]),
     ({**NEW, "region": "xx-nowhere"}, [("region", "region is not valid")]),
     ({**NEW, "disks": [999999]}, [("disks[0]", "Disk not found")]),
     ({**NEW, "configs": [999999]}, [("configs[0]", "Config not found")]),
     ({**NEW, "placement_group": {"id": 1}}, [("placement_group.id", "Placement Group not found")]),
     ({"linode_id": "x"}, [("linode_id", "Not a valid integer.")])],
)  # fmt: skip
def test_refusals_write_nothing(client, customer, db, body, errors):
    _, headers = customer
    source = make(client, headers, db)
    before = counts(db)
    refused = clone(client, headers, source["id"], body)
    assert refused.status_code == 400
    assert [(e.get("field"), e["reason"]) for e in refused.get_json()["errors"]] == errors
    assert counts(db) == before


def test_new_linode_fields_are_refused_onto_an_existing_one(client, customer, db):
    _, headers = customer
    source = make(client, headers, db)
    existing = make(client, headers, db, status="offline")
    onto = clone(client, headers, source["id"], {"linode_id": existing["id"], "region": "us-east"})
    assert onto.get_json()["errors"] == [
        {"field": "region", "reason": "Can only be provided when cloning to a new Linode"}
    ]
    itself = clone(client, headers, source["id"], {"linode_id": source["id"]})
    assert itself.get_json()["errors"] == [
        {"field": "linode_id", "reason": "A Linode cannot be cloned onto itself"}
    ]


def test_a_busy_source_is_refused(client, customer, db):
    _, headers = customer
    source = make(client, headers, db, status="resizing")
    refused = clone(client, headers, source["id"], NEW)
    assert refused.get_json()["errors"] == [{"reason": "Linode busy."}]


def test_another_accounts_source_or_target_is_not_found(client, customer, make_account, db):
    _, headers = customer
    mine = make(client, headers, db)
    _, stranger = make_account()
    theirs = make(client, stranger, db, status="offline")
    before = counts(db)
    assert clone(client, stranger, mine["id"], NEW).status_code == 404
    assert clone(client, headers, mine["id"], {"linode_id": theirs["id"]}).status_code == 404
    assert clone(client, headers, mine["id"], {"linode_id": 2**40}).status_code == 404
    assert counts(db) == before
    assert len(disks_of(db, theirs["id"])) == 2


def test_the_agent_defines_the_clone_and_leaves_it_shut_off(client, customer, db, tmp_path):
    _, headers = customer
    source = make(client, headers, db)
    driver = SimulatedDriver(tmp_path / "domains", boot_seconds=0)
    agent = Agent("pool.us-east", "memory://", ApiReporter(client, db, "pool.us-east"), driver,
                  tmp_path / "agent")  # fmt: skip
    target = clone(client, headers, source["id"], NEW).get_json()
    assert run_job(agent, last_job(db, target["id"])) == ("finished", None)
    assert driver.history(target["id"]) == ["defined"]
    assert f"<name>linode-{target['id']}</name>" in driver.xml(target["id"])
    assert status(client, headers, target["id"]) == "offline"
