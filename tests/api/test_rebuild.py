"""POST /linode/instances/{id}/rebuild: new disks and configs for a new image, on the same
Linode (addresses, plan, host and GPUs), one job and one event, the password only in the
job until it ends."""

import json

import pytest
from sqlalchemy import func, select

from cloudapi.agent.consumer import Agent, parse
from cloudapi.agent.driver import SimulatedDriver
from cloudapi.db.addresses import Address
from cloudapi.db.base import Base
from cloudapi.db.disks import Config, Disk
from cloudapi.db.jobs import Event, Job
from cloudapi.schemas.rebuild import NO_RESIZE
from cloudapi.services import tokens
from tests.api.test_resize import finish, held, last_job
from tests.support.inventory import check_invariants
from tests.support.rows import set_status
from tests.support.sealing import agent_ring, opened_secret

URL = "/v4/linode/instances"
PASSWORD = "Gpu-Demo-2026!x"
SECRET = "Rebuilt-Secret-2026!q"
BODY = {"region": "us-east", "image": "linode/debian12", "root_pass": PASSWORD}
NEW = {"image": "linode/ubuntu24.04", "root_pass": SECRET}


def make(client, headers, db, plan="g6-standard-2", status="running"):
    made = client.post(URL, json={**BODY, "type": plan}, headers=headers)
    assert made.status_code == 200, made.get_json()
    set_status(db, made.get_json()["id"], status)
    return made.get_json()


def rebuild(client, headers, linode_id, body):
    return client.post(f"{URL}/{linode_id}/rebuild", json=body, headers=headers)


def parts(db, instance_id):
    """The instance's disks ({id: (label, filesystem, size)}), configs' devices, addresses."""
    with db.reader() as session:
        disks = session.scalars(select(Disk).where(Disk.instance_id == instance_id)).all()
        configs = session.scalars(select(Config).where(Config.instance_id == instance_id)).all()
        ips = session.scalars(select(Address.address).where(Address.instance_id == instance_id))
        return ({d.id: (d.label, d.filesystem, d.size) for d in disks},
                {c.id: dict(c.devices) for c in configs}, sorted(ips))  # fmt: skip


def counts(db):
    with db.reader() as session:
        return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
                for m in (Job, Event, Disk, Config, Address)}  # fmt: skip


def tables_holding(db, text):
    """The tables with a row whose columns, as text, contain `text`."""
    found = set()
    with db.reader() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                if text in json.dumps([str(v) for v in row], default=str):
                    found.add(table.name)
    return found


def test_a_rebuild_replaces_disks_and_configs_and_keeps_the_linode(client, customer, db):
    _, headers = customer
    linode = make(client, headers, db)
    old_disks, old_configs, old_ips = parts(db, linode["id"])
    before = counts(db)
    answer = rebuild(client, headers, linode["id"], NEW)
    assert answer.status_code == 200, answer.get_json()
    shown = answer.get_json()
    assert shown["id"] == linode["id"] and shown["status"] == "rebuilding"
    assert shown["image"] == "linode/ubuntu24.04" and shown["type"] == "g6-standard-2"
    assert (shown["ipv4"], shown["ipv6"]) == (linode["ipv4"], linode["ipv6"])
    disks, configs, ips = parts(db, linode["id"])
    assert ips == old_ips and not set(disks) & set(old_disks)
    assert sorted(disks.values()) == [("512 MB Swap Image", "swap", 512),
                                      ("Ubuntu 24.04 LTS Disk", "ext4", 81920 - 512)]  # fmt: skip
    assert not set(configs) & set(old_configs) and len(configs) == 1
    (devices,) = configs.values()
    assert set(devices.values()) == set(disks) and disks[devices["sda"]][1] == "ext4"
    after = counts(db)
    assert after["jobs"] == before["jobs"] + 1 and after["events"] == before["events"] + 1
    job = last_job(db, linode["id"])
    assert job.action == "rebuild" and job.host == "pool.us-east"
    assert job.payload["image"] == "linode/ubuntu24.04" and job.payload["booted"] is True
    assert job.payload["placement"] is None and job.payload["specs"]["disk_mb"] == 81920
    with db.reader() as session:
        event = session.scalars(select(Event).where(Event.job_id == job.id)).one()
    assert (event.action, event.secondary_entity_type) == ("linode_rebuild", "image")
    assert event.secondary_entity_id == "linode/ubuntu24.04"
    finish(client, db, job)
    assert client.get(f"{URL}/{linode['id']}", headers=headers).get_json()["status"] == "running"


def test_a_gpu_rebuild_keeps_its_host_and_its_gpus(client, employee, db, gpu_hosts):
    _, headers = employee
    linode = make(client, headers, db, plan="g1-gpu-rtx6000-2")
    created = last_job(db, linode["id"])
    was = held(db, linode["id"])
    assert rebuild(client, headers, linode["id"], NEW).status_code == 200
    assert held(db, linode["id"]) == was and was[2] == 2
    job = last_job(db, linode["id"])
    assert job.action == "rebuild" and job.host == created.host
    assert job.payload["placement"] == created.payload["placement"]
    assert job.payload["numa_affinity"] == "strict"
    check_invariants(db)
    finish(client, db, job)
    assert held(db, linode["id"]) == was
    check_invariants(db)


def test_not_booted_it_ends_offline(client, customer, db):
    _, headers = customer
    linode = make(client, headers, db, status="offline")
    assert rebuild(client, headers, linode["id"], {**NEW, "booted": False}).status_code == 200
    job = last_job(db, linode["id"])
    assert job.payload["booted"] is False
    finish(client, db, job)
    assert client.get(f"{URL}/{linode['id']}", headers=headers).get_json()["status"] == "offline"


@pytest.mark.parametrize(
    "body, field, reason",
    [({"image": "linode/nope", "root_pass": SECRET}, "image",
      "A valid image by that ID was not found"),
     ({"image": "linode/debian12"}, "root_pass",
      "Must provide valid root_pass, authorized_keys, or authorized_users"),
     ({"root_pass": SECRET}, "image", "You must specify an image"),
     ({**NEW, "root_pass": "password123"}, "root_pass",
      "Password does not meet strength requirement"),
     ({**NEW, "authorized_users": ["someone-else"]}, "authorized_users", None),
     ({**NEW, "stackscript_id": 10079}, "stackscript_id", "Unknown field"),
     ({**NEW, "type": "g6-standard-4"}, "type", NO_RESIZE),
     ({**NEW, "type": "g1-gpu-rtx6000-1"}, "type", "A valid plan type by that ID was not found")],
)  # fmt: skip
def test_refusals_write_nothing(client, customer, db, gpu_hosts, body, field, reason):
    _, headers = customer
    linode = make(client, headers, db)
    before, was = counts(db), parts(db, linode["id"])
    refused = rebuild(client, headers, linode["id"], body)
    assert refused.status_code == 400
    errors = refused.get_json()["errors"]
    assert [e["field"] for e in errors] == [field]
    if reason is not None:
        assert errors[0]["reason"] == reason
    assert counts(db) == before and parts(db, linode["id"]) == was
    assert client.get(f"{URL}/{linode['id']}", headers=headers).get_json()["status"] == "running"


def test_the_same_plan_may_be_sent_back(client, customer, db):
    _, headers = customer
    linode = make(client, headers, db)
    assert (
        rebuild(client, headers, linode["id"], {**NEW, "type": "g6-standard-2"}).status_code == 200
    )


def test_a_busy_linode_is_refused(client, customer, db):
    _, headers = customer
    linode = make(client, headers, db, status="provisioning")
    before = counts(db)
    refused = rebuild(client, headers, linode["id"], NEW)
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [{"reason": "Linode busy."}]
    assert counts(db) == before


def test_another_accounts_linode_is_not_found(client, customer, make_account, db):
    _, headers = customer
    linode = make(client, headers, db)
    _, stranger = make_account()
    before = counts(db)
    assert rebuild(client, stranger, linode["id"], NEW).status_code == 404
    assert counts(db) == before


@pytest.mark.parametrize("outcome, status", [("finished", "running"), ("failed", "offline")])
def test_the_password_is_only_in_the_job_and_only_until_it_ends(
    client, customer, db, outcome, status, tmp_path
):
    _, headers = customer
    linode = make(client, headers, db)
    ring = agent_ring(db, "pool.us-east", tmp_path / "keys")
    assert rebuild(client, headers, linode["id"], NEW).status_code == 200
    job = last_job(db, linode["id"])
    assert opened_secret(ring, job.payload, "root_pass") == SECRET  # sealed to the agent
    assert tables_holding(db, SECRET) == set()  # never in clear, not even in the job
    finish(client, db, job, status=outcome)
    assert tables_holding(db, SECRET) == set()
    assert "root_pass" not in last_job(db, linode["id"]).payload
    assert client.get(f"{URL}/{linode['id']}", headers=headers).get_json()["status"] == status


class ApiReporter:
    """The agent's reporter, posting every report (progress too) to /internal as a host."""

    def __init__(self, client, db, host):
        with db.transaction() as session:
            token = tokens.create(session, host=host)
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def report(self, job_id, status, percent_complete=None, instance_status=None, message=None):
        given = {"percent_complete": percent_complete, "instance_status": instance_status,
                 "message": message}  # fmt: skip
        body = {"status": status, **{k: v for k, v in given.items() if v is not None}}
        answer = self.client.post(f"/internal/jobs/{job_id}/progress", json=body,
                                  headers=self.headers)  # fmt: skip
        assert answer.status_code == 200, answer.get_json()


def run_job(agent, job):
    """Deliver `job` to `agent` as the relay would, and report its outcome."""
    message = {"job_id": job.id, "action": job.action, "instance_id": job.instance_id,
               "host": job.host, "payload": job.payload}  # fmt: skip
    assert parse(json.dumps(message)) == message  # the agent knows the action
    outcome = agent.execute(message)
    agent.reporter.report(job.id, *outcome)
    return outcome


def test_the_agent_rebuilds_a_running_linode_and_boots_it(client, customer, db, tmp_path):
    _, headers = customer
    made = client.post(URL, json={**BODY, "type": "g6-standard-2"}, headers=headers).get_json()
    driver = SimulatedDriver(tmp_path / "domains", boot_seconds=0)
    agent = Agent("pool.us-east", "memory://", ApiReporter(client, db, "pool.us-east"), driver,
                  tmp_path / "agent")  # fmt: skip
    assert run_job(agent, last_job(db, made["id"])) == ("finished", None)
    assert client.get(f"{URL}/{made['id']}", headers=headers).get_json()["status"] == "running"
    assert rebuild(client, headers, made["id"], NEW).status_code == 200
    assert run_job(agent, last_job(db, made["id"])) == ("finished", None)
    assert driver.history(made["id"]) == ["defined", "running", "shut off", "running"]
    assert client.get(f"{URL}/{made['id']}", headers=headers).get_json()["status"] == "running"
    assert tables_holding(db, SECRET) == set()
