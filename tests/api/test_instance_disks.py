"""A Linode's disks: a create's layout, and disk create, rename, resize, clone, password
reset and delete with Linode's rules, each one job and one event, moved by the agent."""

import json

import pytest
from flask import Response
from sqlalchemy import func, select

from cloudapi.agent.consumer import STORAGE_ACTIONS, Agent, parse
from cloudapi.agent.driver import SimulatedDriver
from cloudapi.db.disks import Config, ConfigInterface, Disk
from cloudapi.db.jobs import Event, Job
from cloudapi.services import tokens
from tests.support import openapi
from tests.support.rows import set_status
from tests.support.sealing import agent_ring, opened_secret

PASSWORD = "Gpu-Demo-2026!x"
BODY = {"type": "g6-nanode-1", "region": "us-east", "image": "linode/debian12",
        "root_pass": PASSWORD}  # fmt: skip
PLAN_DISK = 25600  # g6-nanode-1
SLOTS = ("sda", "sdb", "sdc", "sdd", "sde", "sdf", "sdg", "sdh")


def test_the_config_nulls_are_the_only_exception():
    """Linode's spec is relaxed for a config's nulls (tests/support/openapi.py), no more."""
    body = {"devices": dict.fromkeys(SLOTS), "interfaces": [], "root_device": "/dev/sda"}
    body["devices"]["sda"] = {"disk_id": 1, "volume_id": None}
    response = Response(json.dumps(body), mimetype="application/json")
    path = "/v4/linode/instances/1/configs/2"
    openapi.check_linode("GET", path, response)
    wrong = Response(
        json.dumps({**body, "devices": {"sda": {"disk_id": "1"}}}), mimetype="application/json"
    )
    with pytest.raises(AssertionError, match="linode-openapi.yaml"):
        openapi.check_linode("GET", path, wrong)


def make_linode(client, headers, **changes):
    made = client.post("/v4/linode/instances", json={**BODY, **changes}, headers=headers)
    assert made.status_code == 200, made.get_json()
    return made.get_json()


def empty_linode(client, headers):
    body = {"type": "g6-nanode-1", "region": "us-east"}
    return client.post("/v4/linode/instances", json=body, headers=headers).get_json()


def counts(db):
    with db.reader() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Job, Event, Disk, Config)}  # fmt: skip


def latest(db, instance_id):
    """The instance's newest job and its event's action."""
    with db.reader() as session:
        job = session.scalars(select(Job).where(Job.instance_id == instance_id)
                              .order_by(Job.created.desc())).first()  # fmt: skip
        event = session.scalars(select(Event).where(Event.job_id == job.id)).one()
        return job, event.action


def assert_one_write(db, before, instance_id, action, event_action=None):
    """Exactly one job (`action`) and one event (`event_action`) more than `before`."""
    after = counts(db)
    assert (after["jobs"], after["events"]) == (before["jobs"] + 1, before["events"] + 1)
    job, event = latest(db, instance_id)
    assert (job.action, event) == (action, event_action or action)
    return job


def report(client, db, job, status="finished", **extra):
    with db.transaction() as session:
        agent = {"Authorization": f"Bearer {tokens.create(session, host=job.host)}"}
    answer = client.post(f"/internal/jobs/{job.id}/progress", json={"status": status, **extra},
                         headers=agent)  # fmt: skip
    assert answer.status_code == 200, answer.get_json()


def reasons(response):
    return [(e.get("field"), e["reason"]) for e in response.get_json()["errors"]]


def disks_url(linode):
    return f"/v4/linode/instances/{linode['id']}/disks"


def test_create_with_image_makes_a_root_and_a_swap_disk(client, customer):
    _, headers = customer
    linode = make_linode(client, headers)
    listed = client.get(disks_url(linode), headers=headers).get_json()
    assert (listed["results"], listed["page"], listed["pages"]) == (2, 1, 1)
    root, swap = listed["data"]
    assert (root["label"], root["filesystem"], root["size"], root["status"]) == (
        "Debian 12 Disk", "ext4", PLAN_DISK - 512, "ready")  # fmt: skip
    assert (swap["label"], swap["filesystem"], swap["size"]) == ("512 MB Swap Image", "swap", 512)
    assert root["disk_encryption"] == "disabled" and root["created"] and root["updated"]
    one = client.get(f"{disks_url(linode)}/{root['id']}", headers=headers)
    assert one.status_code == 200 and one.get_json() == root
    bigger = make_linode(client, headers, swap_size=1024)
    sizes = [d["size"] for d in client.get(disks_url(bigger), headers=headers).get_json()["data"]]
    assert sizes == [PLAN_DISK - 1024, 1024]
    no_swap = make_linode(client, headers, swap_size=0)
    (only,) = client.get(disks_url(no_swap), headers=headers).get_json()["data"]
    assert (only["label"], only["size"]) == ("Debian 12 Disk", PLAN_DISK)


def test_boot_size_sets_the_root_disk_and_leaves_the_rest_free(client, customer, db):
    _, headers = customer
    linode = make_linode(client, headers, boot_size=9000)
    sizes = [d["size"] for d in client.get(disks_url(linode), headers=headers).get_json()["data"]]
    assert sizes == [9000, 512]
    more = {"size": PLAN_DISK - 9512, "label": "data", "filesystem": "ext4"}
    assert client.post(disks_url(linode), json=more, headers=headers).status_code == 200
    before = counts(db)
    too_big = client.post("/v4/linode/instances", json={**BODY, "boot_size": PLAN_DISK - 511},
                          headers=headers)  # fmt: skip
    assert reasons(too_big) == [("boot_size", "Must not exceed the plan's disk less the swap disk")]
    assert counts(db) == before


def test_create_without_image_has_no_disks_and_no_config(client, customer, db):
    _, headers = customer
    before = counts(db)
    linode = empty_linode(client, headers)
    assert client.get(disks_url(linode), headers=headers).get_json()["results"] == 0
    configs = client.get(f"/v4/linode/instances/{linode['id']}/configs", headers=headers)
    assert configs.get_json()["results"] == 0
    after = counts(db)
    assert (after["disks"], after["configs"]) == (before["disks"], before["configs"])


def test_disk_create_fits_the_free_space_or_writes_nothing(client, customer, db):
    _, headers = customer
    linode = empty_linode(client, headers)
    before = counts(db)
    made = client.post(disks_url(linode), json={"label": "data", "size": 25000, "read_only": False},
                       headers=headers)  # fmt: skip
    assert made.status_code == 200
    disk = made.get_json()
    assert (disk["label"], disk["size"], disk["filesystem"], disk["status"]) == (
        "data", 25000, "ext4", "not ready")  # fmt: skip
    job = assert_one_write(db, before, linode["id"], "disk_create")
    assert job.payload["disk_id"] == disk["id"] and job.payload["size"] == 25000
    before = counts(db)
    over = client.post(disks_url(linode), json={"label": "more", "size": 601}, headers=headers)
    assert over.status_code == 400
    assert reasons(over) == [
        ("size", "Not enough free disk space on this Linode (600 MB unallocated)")
    ]
    assert counts(db) == before  # nothing written: no disk, no job, no event
    assert client.post(disks_url(linode), json={"label": "rest", "size": 600},
                       headers=headers).status_code == 200  # fmt: skip
    report(client, db, job)
    assert client.get(f"{disks_url(linode)}/{disk['id']}", headers=headers).get_json()[
        "status"] == "ready"  # fmt: skip


@pytest.mark.parametrize(
    "body, problems",
    [
        ({"label": "x"}, [("size", "size is required")]),
        ({"label": "x", "size": 0}, [("size", "Disk size must be at least 1 MB")]),
        ({"size": 10}, [("label", "label is required when not deploying an image")]),
        ({"label": "x" * 49, "size": 10}, [("label", "Length must be 1-48 characters")]),
        ({"label": "x", "size": 10, "stackscript_id": 1}, [("stackscript_id", "Unknown field")]),
        ({"label": "x", "size": 10, "root_pass": PASSWORD},
         [("root_pass", "Only used when deploying from an image")]),
        ({"size": 2000, "image": "linode/debian12"},
         [("root_pass", "Must provide valid root_pass, authorized_keys, or authorized_users")]),
        ({"size": 2000, "image": "linode/debian12", "root_pass": "password"},
         [("root_pass", "Password does not meet strength requirement")]),
        ({"size": 1000, "image": "linode/debian12", "root_pass": PASSWORD},
         [("size", "Must be at least 1300 MB for this image")]),
        ({"size": 2000, "image": "linode/nothing", "root_pass": PASSWORD},
         [("image", "A valid image by that ID was not found")]),
        ({"label": "x", "size": 10, "read_only": True},
         [("read_only", "Read-only disks are not offered")]),
    ],
)  # fmt: skip
def test_disk_create_rules(client, customer, db, body, problems):
    _, headers = customer
    linode = empty_linode(client, headers)
    before = counts(db)
    refused = client.post(disks_url(linode), json=body, headers=headers)
    assert refused.status_code == 400 and reasons(refused) == problems
    assert counts(db) == before


def test_disk_from_an_image_hands_the_agent_its_password_once(client, customer, db, tmp_path):
    _, headers = customer
    ring = agent_ring(db, "pool.us-east", tmp_path / "keys")
    linode = empty_linode(client, headers)
    body = {"size": 2000, "image": "linode/debian12", "root_pass": PASSWORD}
    made = client.post(disks_url(linode), json=body, headers=headers)
    assert made.get_json()["label"] == "Debian 12 Disk"
    job, _ = latest(db, linode["id"])
    assert opened_secret(ring, job.payload, "root_pass") == PASSWORD  # sealed to the agent
    assert job.payload["image"] == "linode/debian12"
    report(client, db, job)
    job, _ = latest(db, linode["id"])
    assert "root_pass" not in job.payload  # gone from the outbox once the job ended


def test_resize_needs_the_linode_offline_and_the_room(client, customer, db):
    _, headers = customer
    linode = make_linode(client, headers)
    root, swap = client.get(disks_url(linode), headers=headers).get_json()["data"]
    url = f"{disks_url(linode)}/{root['id']}/resize"
    before = counts(db)
    online = client.post(url, json={"size": 20000}, headers=headers)
    assert reasons(online) == [(None, "Linode must be shut down to resize a disk.")]
    set_status(db, linode["id"], "offline")
    too_big = client.post(url, json={"size": root["size"] + 1}, headers=headers)
    assert reasons(too_big) == [
        ("size", "Not enough free disk space on this Linode (0 MB unallocated)")
    ]
    assert counts(db) == before
    assert client.post(url, json={"size": 20000}, headers=headers).get_json() == {}
    job = assert_one_write(db, before, linode["id"], "disk_resize")
    assert (job.payload["size"], job.payload["from_size"]) == (20000, root["size"])
    shown = client.get(f"{disks_url(linode)}/{root['id']}", headers=headers).get_json()
    assert (shown["size"], shown["status"]) == (20000, "not ready")
    busy = client.post(url, json={"size": 21000}, headers=headers)
    assert reasons(busy) == [(None, "Disk busy.")]
    report(client, db, job, status="failed", message="resize2fs failed")
    shown = client.get(f"{disks_url(linode)}/{root['id']}", headers=headers).get_json()
    assert (shown["size"], shown["status"]) == (root["size"], "ready")  # the old size back
    assert client.post(url, json={"size": 21000}, headers=headers).status_code == 200
    report(client, db, latest(db, linode["id"])[0])
    shown = client.get(f"{disks_url(linode)}/{root['id']}", headers=headers).get_json()
    assert (shown["size"], shown["status"]) == (21000, "ready")


def test_password_reset_rules(client, customer, db, tmp_path):
    _, headers = customer
    ring = agent_ring(db, "pool.us-east", tmp_path / "keys")
    linode = make_linode(client, headers)
    root = client.get(disks_url(linode), headers=headers).get_json()["data"][0]
    url = f"{disks_url(linode)}/{root['id']}/password"
    before = counts(db)
    online = client.post(url, json={"password": "An0ther-Str0ng-Pass!"}, headers=headers)
    assert reasons(online) == [(None, "Linode must be shut down to reset a disk's root password.")]
    set_status(db, linode["id"], "offline")
    assert reasons(client.post(url, json={"password": "weakweak"}, headers=headers)) == [
        ("password", "Password does not meet strength requirement")]  # fmt: skip
    assert reasons(client.post(url, json={}, headers=headers)) == [
        ("password", "password is required")
    ]
    assert counts(db) == before
    done = client.post(url, json={"password": "An0ther-Str0ng-Pass!"}, headers=headers)
    assert done.status_code == 200 and done.get_json() == {}
    job = assert_one_write(db, before, linode["id"], "password_reset")
    assert opened_secret(ring, job.payload, "password") == "An0ther-Str0ng-Pass!"
    report(client, db, job)
    assert "password" not in latest(db, linode["id"])[0].payload
    gone = client.post(f"{disks_url(linode)}/999999/password", json={"password": PASSWORD},
                       headers=headers)  # fmt: skip
    assert gone.status_code == 404


def test_clone_copies_a_ready_disk_into_free_space(client, customer, db):
    _, headers = customer
    linode = empty_linode(client, headers)
    disk = client.post(disks_url(linode), json={"label": "data", "size": 10000},
                       headers=headers).get_json()  # fmt: skip
    url = f"{disks_url(linode)}/{disk['id']}/clone"
    assert reasons(client.post(url, headers=headers)) == [(None, "Disk busy.")]
    report(client, db, latest(db, linode["id"])[0])
    before = counts(db)
    copy = client.post(url, headers=headers)
    assert copy.status_code == 200
    copied = copy.get_json()
    assert (copied["label"], copied["size"], copied["status"]) == ("Copy of data", 10000,
                                                                   "not ready")  # fmt: skip
    job = assert_one_write(db, before, linode["id"], "disk_duplicate")
    assert job.payload["source_disk_id"] == disk["id"] and job.payload["disk_id"] == copied["id"]
    full = client.post(url, json={}, headers=headers)  # 5600 MB left, the disk is 10000
    assert reasons(full) == [
        (None, "Not enough free disk space on this Linode (5600 MB unallocated)")
    ]
    assert reasons(client.post(url, json={"x": 1}, headers=headers)) == [("x", "Unknown field")]
    report(client, db, job, status="failed")
    listed = client.get(disks_url(linode), headers=headers).get_json()["data"]
    assert [d["id"] for d in listed] == [disk["id"]]  # a failed clone leaves no disk


def test_delete_needs_a_disk_no_running_config_uses(client, customer, db):
    _, headers = customer
    linode = make_linode(client, headers)
    url = f"/v4/linode/instances/{linode['id']}"
    root, swap = client.get(disks_url(linode), headers=headers).get_json()["data"]
    set_status(db, linode["id"], "running")
    before = counts(db)
    refused = client.delete(f"{disks_url(linode)}/{swap['id']}", headers=headers)
    assert reasons(refused) == [
        (None, "Disk is in use by a configuration profile of the running Linode")
    ]
    assert counts(db) == before
    set_status(db, linode["id"], "offline")
    assert client.delete(f"{disks_url(linode)}/{swap['id']}", headers=headers).get_json() == {}
    job = assert_one_write(db, before, linode["id"], "disk_delete")
    shown = client.get(f"{disks_url(linode)}/{swap['id']}", headers=headers).get_json()
    assert shown["status"] == "deleting"
    (config,) = client.get(f"{url}/configs", headers=headers).get_json()["data"]
    assert config["devices"]["sdb"] is None and config["devices"]["sda"]["disk_id"] == root["id"]
    report(client, db, job)
    assert client.get(f"{disks_url(linode)}/{swap['id']}", headers=headers).status_code == 404
    assert client.get(disks_url(linode), headers=headers).get_json()["results"] == 1
    assert client.delete(f"{disks_url(linode)}/{swap['id']}", headers=headers).status_code == 404


def test_label_update_writes_a_disk_update(client, customer, db):
    _, headers = customer
    linode = make_linode(client, headers)
    root = client.get(disks_url(linode), headers=headers).get_json()["data"][0]
    url = f"{disks_url(linode)}/{root['id']}"
    before = counts(db)
    renamed = client.put(url, json={"label": "system"}, headers=headers)
    assert renamed.status_code == 200 and renamed.get_json()["label"] == "system"
    assert renamed.get_json()["size"] == root["size"]
    job = assert_one_write(db, before, linode["id"], "disk_update")
    assert job.payload["label"] == "system"
    before = counts(db)
    assert reasons(client.put(url, json={"label": ""}, headers=headers)) == [
        ("label", "Length must be 1-48 characters")]  # fmt: skip
    assert reasons(client.put(url, json={"size": 5}, headers=headers)) == [
        ("size", "Unknown field")
    ]
    assert counts(db) == before


def test_another_accounts_linode_and_disks_are_not_found(client, make_account):
    _, owner = make_account()
    _, other = make_account()
    linode = make_linode(client, owner)
    root = client.get(disks_url(linode), headers=owner).get_json()["data"][0]
    one = f"{disks_url(linode)}/{root['id']}"
    for method, path, body in [
        ("get", disks_url(linode), None), ("get", one, None), ("put", one, {"label": "x"}),
        ("delete", one, None), ("post", disks_url(linode), {"label": "x", "size": 1}),
        ("post", f"{one}/resize", {"size": 1}), ("post", f"{one}/clone", None),
        ("post", f"{one}/password", {"password": PASSWORD}),
    ]:  # fmt: skip
        answer = getattr(client, method)(path, json=body, headers=other)
        assert answer.status_code == 404, (method, path)
        assert answer.get_json() == {"errors": [{"reason": "Not found"}]}
    mine = empty_linode(client, other)  # a disk of another Linode is not found under mine
    assert client.get(f"{disks_url(mine)}/{root['id']}", headers=other).status_code == 404


def test_deleting_the_linode_removes_its_disks_and_configs(client, customer, db):
    _, headers = customer
    linode = make_linode(client, headers, interfaces=[{"purpose": "public"}])
    configs = client.get(f"/v4/linode/instances/{linode['id']}/configs", headers=headers)
    (config,) = configs.get_json()["data"]
    assert client.delete(f"/v4/linode/instances/{linode['id']}", headers=headers).status_code == 200
    with db.reader() as session:
        left = [session.scalar(select(func.count()).select_from(model)
                               .where(model.instance_id == linode["id"]))
                for model in (Disk, Config)]  # fmt: skip
        left.append(session.scalar(select(func.count()).select_from(ConfigInterface)
                                   .where(ConfigInterface.config_id == config["id"])))  # fmt: skip
    assert left == [0, 0, 0]
    assert client.get(disks_url(linode), headers=headers).status_code == 404


class Reporter:
    """Stands in for the agent's HTTP reporter: each final report goes to the API."""

    def __init__(self, client, db):
        self.client, self.db, self.seen = client, db, []

    def report(self, job_id, status, percent_complete=None, instance_status=None, message=None):
        with self.db.reader() as session:
            job = session.get(Job, job_id)
        self.seen.append((job.action, status))
        report(self.client, self.db, job, status=status)


def test_the_agent_runs_every_disk_and_config_job(client, customer, db, tmp_path):
    _, headers = customer
    linode = empty_linode(client, headers)
    driver = SimulatedDriver(tmp_path / "domains", boot_seconds=0)
    agent = Agent("pool.us-east", "memory://", Reporter(client, db), driver, tmp_path / "agent")

    def run_latest():
        job, _ = latest(db, linode["id"])
        message = {"job_id": job.id, "action": job.action, "instance_id": job.instance_id,
                   "host": job.host, "payload": job.payload}  # fmt: skip
        assert parse(json.dumps(message)) == message  # no action is poison to the agent
        assert agent.execute(message) == ("finished", None)
        agent.reporter.report(job.id, "finished")

    disk = client.post(disks_url(linode), json={"label": "data", "size": 2000},
                       headers=headers).get_json()  # fmt: skip
    run_latest()
    assert agent.driver.disks(linode["id"]) == {str(disk["id"]): {"size": 2000, "label": "data"}}
    config = {"label": "boot", "devices": {"sda": {"disk_id": disk["id"]}}}
    made = client.post(f"/v4/linode/instances/{linode['id']}/configs", json=config, headers=headers)
    run_latest()
    set_status(db, linode["id"], "offline")  # the config names the disk: only offline
    assert client.delete(f"{disks_url(linode)}/{disk['id']}", headers=headers).status_code == 200
    run_latest()
    assert agent.driver.disks(linode["id"]) == {}
    assert made.status_code == 200 and agent.reporter.seen == [
        ("disk_create", "finished"),
        ("config_create", "finished"),
        ("disk_delete", "finished"),
    ]
    assert {"disk_create", "config_create", "disk_delete"} <= set(STORAGE_ACTIONS)
