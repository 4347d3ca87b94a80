"""A Linode's config profiles: the create's profile, config CRUD with its device and
kernel rules, its legacy interfaces, and boots that name a config."""

import pytest
from sqlalchemy import select

from cloudapi.db.jobs import Job
from tests.api.test_instance_disks import (
    SLOTS,
    assert_one_write,
    counts,
    disks_url,
    empty_linode,
    latest,
    make_linode,
    reasons,
    report,
)
from tests.support.rows import set_status

HELPERS = {"updatedb_disabled": True, "distro": True, "modules_dep": True, "network": True,
           "devtmpfs_automount": False}  # fmt: skip


def configs_url(linode):
    return f"/v4/linode/instances/{linode['id']}/configs"


def devices(**slots):
    shown = dict.fromkeys(SLOTS)
    shown.update({slot: {"disk_id": disk_id, "volume_id": None} for slot, disk_id in slots.items()})
    return shown


def a_disk(client, headers, linode, size=1000, label="data"):
    made = client.post(disks_url(linode), json={"label": label, "size": size}, headers=headers)
    assert made.status_code == 200
    return made.get_json()["id"]


def test_a_create_from_an_image_makes_linodes_default_profile(client, customer):
    _, headers = customer
    linode = make_linode(client, headers)
    root, swap = client.get(disks_url(linode), headers=headers).get_json()["data"]
    listed = client.get(configs_url(linode), headers=headers).get_json()
    assert (listed["results"], listed["pages"]) == (1, 1)
    (config,) = listed["data"]
    assert config == {
        "id": config["id"], "label": "My Debian 12 Disk Profile", "kernel": "linode/grub2",
        "comments": "", "memory_limit": 0, "root_device": "/dev/sda", "run_level": "default",
        "virt_mode": "paravirt", "initrd": None, "helpers": HELPERS,
        "devices": devices(sda=root["id"], sdb=swap["id"]), "interfaces": [],
        "created": config["created"], "updated": config["updated"],
    }  # fmt: skip
    one = client.get(f"{configs_url(linode)}/{config['id']}", headers=headers)
    assert one.status_code == 200 and one.get_json() == config
    assert client.get(f"{configs_url(linode)}/{config['id']}/interfaces",
                      headers=headers).get_json() == []  # fmt: skip


def test_the_create_body_shapes_its_profile(client, customer):
    _, headers = customer
    vlan = {"purpose": "vlan", "label": "back-net", "ipam_address": "10.0.0.2/24"}
    interfaces = [{"purpose": "public", "primary": True}, vlan]
    linode = make_linode(client, headers, swap_size=0, kernel="linode/latest-64bit",
                         network_helper=False, interfaces=interfaces)  # fmt: skip
    (root,) = client.get(disks_url(linode), headers=headers).get_json()["data"]
    (config,) = client.get(configs_url(linode), headers=headers).get_json()["data"]
    assert config["devices"] == devices(sda=root["id"])  # no swap disk, sdb empty
    assert config["kernel"] == "linode/latest-64bit" and config["helpers"]["network"] is False
    public, vlan = config["interfaces"]
    assert (public["purpose"], public["primary"], public["label"]) == ("public", True, None)
    assert (vlan["purpose"], vlan["label"], vlan["ipam_address"]) == ("vlan", "back-net",
                                                                      "10.0.0.2/24")  # fmt: skip
    url = f"{configs_url(linode)}/{config['id']}/interfaces"
    assert client.get(url, headers=headers).get_json() == config["interfaces"]
    assert client.get(f"{url}/{vlan['id']}", headers=headers).get_json() == vlan
    assert client.get(f"{url}/{vlan['id'] + 1000}", headers=headers).status_code == 404


def test_config_create_update_delete(client, customer, db):
    _, headers = customer
    linode = empty_linode(client, headers)
    disk = a_disk(client, headers, linode)
    before = counts(db)
    made = client.post(configs_url(linode), json={"label": "boot", "kernel": None,
                       "devices": {"sda": {"disk_id": disk}, "sdb": None}, "interfaces": []},
                       headers=headers)  # fmt: skip
    assert made.status_code == 200
    config = made.get_json()
    assert (config["kernel"], config["devices"], config["helpers"], config["interfaces"]) == (
        "linode/latest-64bit", devices(sda=disk), HELPERS, [])  # fmt: skip
    assert (config["run_level"], config["virt_mode"], config["root_device"]) == (
        "default", "paravirt", "/dev/sda")  # fmt: skip
    job = assert_one_write(db, before, linode["id"], "config_create", "linode_config_create")
    assert job.payload["config_id"] == config["id"]
    assert counts(db)["configs"] == before["configs"] + 1

    url = f"{configs_url(linode)}/{config['id']}"
    before = counts(db)
    change = {"label": "rescue", "comments": "for rescue", "helpers": {"network": False},
              "interfaces": [{"purpose": "public"}], "run_level": "single", "memory_limit": 512,
              "kernel": "linode/direct-disk", "devices": {"sdc": {"disk_id": disk}}}  # fmt: skip
    updated = client.put(url, json=change, headers=headers)
    assert updated.status_code == 200
    shown = updated.get_json()
    picked = [shown[k] for k in ("label", "comments", "run_level", "memory_limit", "kernel")]
    assert picked == ["rescue", "for rescue", "single", 512, "linode/direct-disk"]
    assert shown["helpers"] == {**HELPERS, "network": False}  # one helper changed
    assert shown["devices"] == devices(sdc=disk)  # devices replaced whole
    assert [i["purpose"] for i in shown["interfaces"]] == ["public"]
    assert_one_write(db, before, linode["id"], "config_update", "linode_config_update")
    cleared = client.put(url, json={"interfaces": []}, headers=headers).get_json()
    assert cleared["interfaces"] == [] and cleared["label"] == "rescue"

    before = counts(db)
    assert client.delete(url, headers=headers).get_json() == {}
    assert_one_write(db, before, linode["id"], "config_delete", "linode_config_delete")
    assert client.get(url, headers=headers).status_code == 404
    assert client.get(f"{disks_url(linode)}/{disk}", headers=headers).status_code == 200


def test_devices_must_be_this_linodes_disks(client, customer, db):
    _, headers = customer
    linode = empty_linode(client, headers)
    mine, other_disk = a_disk(client, headers, linode), a_disk(client, headers, empty_linode(
        client, headers))  # fmt: skip
    cases = [
        ({"devices": {"sda": {"disk_id": mine}}}, [("label", "label is required")]),
        ({"label": "x"}, [("devices", "devices is required")]),
        ({"label": "x", "devices": {"sda": {"disk_id": other_disk}}},
         [("devices.sda.disk_id", "Disk not found")]),
        ({"label": "x", "devices": {"sda": {"volume_id": 5}}},
         [("devices.sda.volume_id", "Volume not found")]),
        ({"label": "x", "devices": {"sda": {"disk_id": mine}, "sdb": {"disk_id": mine}}},
         [("devices.sdb.disk_id", "A disk can be assigned to only one device slot")]),
        ({"label": "x", "devices": {"sde": {"disk_id": mine}}, "virt_mode": "fullvirt"},
         [("devices", "Devices sde-sdh are not available in fullvirt mode")]),
        ({"label": "x", "devices": {"sdz": {"disk_id": mine}}}, [("devices.sdz", "Unknown field")]),
        ({"label": "x", "devices": {}, "run_level": "fast"},
         [("run_level", "Must be one of: default, single, binbash.")]),
    ]  # fmt: skip
    before = counts(db)
    for body, problems in cases:
        refused = client.post(configs_url(linode), json=body, headers=headers)
        assert refused.status_code == 400 and reasons(refused) == problems, body
    assert counts(db) == before  # nothing written
    report(client, db, latest(db, linode["id"])[0])  # the disk is made
    set_status(db, linode["id"], "offline")
    assert client.delete(f"{disks_url(linode)}/{mine}", headers=headers).status_code == 200
    deleting = client.post(configs_url(linode), json={"label": "x", "devices": {
        "sda": {"disk_id": mine}}}, headers=headers)  # fmt: skip
    assert reasons(deleting) == [("devices.sda.disk_id", "Disk not found")]


def test_kernel_must_be_a_known_kernel(client, customer):
    _, headers = customer
    linode = empty_linode(client, headers)
    disk = a_disk(client, headers, linode)
    body = {"label": "x", "devices": {"sda": {"disk_id": disk}}}
    bad = client.post(configs_url(linode), json={**body, "kernel": "linode/nope"}, headers=headers)
    assert reasons(bad) == [("kernel", "A valid kernel by that ID was not found")]
    kernels = client.get("/v4/linode/kernels", headers=headers).get_json()["data"]
    for kernel in [k["id"] for k in kernels]:
        made = client.post(configs_url(linode), json={**body, "kernel": kernel}, headers=headers)
        assert made.status_code == 200 and made.get_json()["kernel"] == kernel
    config = made.get_json()["id"]
    again = client.put(f"{configs_url(linode)}/{config}", json={"kernel": "linux"}, headers=headers)
    assert reasons(again) == [("kernel", "A valid kernel by that ID was not found")]


def boot_jobs(db, instance_id):
    with db.reader() as session:
        query = select(Job).where(
            Job.instance_id == instance_id, Job.action.in_(["boot", "reboot"])
        )
        return [
            (j.action, j.payload["config_id"]) for j in session.scalars(query.order_by(Job.created))
        ]


def test_boot_takes_this_linodes_config(client, customer, db):
    _, headers = customer
    linode = make_linode(client, headers)
    other = make_linode(client, headers)
    (first,) = client.get(configs_url(linode), headers=headers).get_json()["data"]
    (theirs,) = client.get(configs_url(other), headers=headers).get_json()["data"]
    root = client.get(disks_url(linode), headers=headers).get_json()["data"][0]["id"]
    second = client.post(configs_url(linode), json={"label": "two", "devices": {
        "sda": {"disk_id": root}}}, headers=headers).get_json()["id"]  # fmt: skip
    url = f"/v4/linode/instances/{linode['id']}"
    set_status(db, linode["id"], "offline")
    before = counts(db)
    for config_id in (theirs["id"], "abc", 999999, True):
        refused = client.post(f"{url}/boot", json={"config_id": config_id}, headers=headers)
        assert reasons(refused) == [("config_id", "Config not found")], config_id
    assert counts(db) == before
    assert (
        client.post(f"{url}/boot", json={"config_id": second}, headers=headers).status_code == 200
    )
    set_status(db, linode["id"], "running")
    assert (
        client.post(f"{url}/reboot", json={"config_id": None}, headers=headers).status_code == 200
    )
    set_status(db, linode["id"], "running")
    assert client.post(f"{url}/reboot", json={"config_id": first["id"]},
                       headers=headers).status_code == 200  # fmt: skip
    assert boot_jobs(db, linode["id"]) == [("boot", second), ("reboot", first["id"]),
                                           ("reboot", first["id"])]  # fmt: skip
    job, event = latest(db, linode["id"])
    assert event == "linode_reboot"


def test_another_accounts_configs_are_not_found(client, make_account):
    _, owner = make_account()
    _, other = make_account()
    linode = make_linode(client, owner)
    (config,) = client.get(configs_url(linode), headers=owner).get_json()["data"]
    one = f"{configs_url(linode)}/{config['id']}"
    for method, path, body in [
        ("get", configs_url(linode), None), ("get", one, None), ("put", one, {"label": "x"}),
        ("delete", one, None), ("post", configs_url(linode), {"label": "x", "devices": {}}),
        ("get", f"{one}/interfaces", None), ("get", f"{one}/interfaces/1", None),
    ]:  # fmt: skip
        answer = getattr(client, method)(path, json=body, headers=other)
        assert answer.status_code == 404 and answer.get_json() == {
            "errors": [{"reason": "Not found"}]
        }
    mine = empty_linode(client, other)
    assert client.get(f"{configs_url(mine)}/{config['id']}", headers=other).status_code == 404
    boot = client.post(f"/v4/linode/instances/{mine['id']}/boot",
                       json={"config_id": config["id"]}, headers=other)  # fmt: skip
    assert reasons(boot) == [("config_id", "Config not found")]


BAD_UPDATES = [
    ("label", "", "label"),
    ("memory_limit", -1, "memory_limit"),
    ("root_device", "/dev/sda;rm", "root_device"),
    ("comments", 5, "comments"),
    ("helpers", {"distro": "yes"}, "helpers.distro"),
    ("virt_mode", "hvm", "virt_mode"),
]


@pytest.mark.parametrize("field, value, where", BAD_UPDATES)
def test_config_update_rules(client, customer, db, field, value, where):
    _, headers = customer
    linode = make_linode(client, headers)
    (config,) = client.get(configs_url(linode), headers=headers).get_json()["data"]
    before = counts(db)
    refused = client.put(f"{configs_url(linode)}/{config['id']}", json={field: value},
                         headers=headers)  # fmt: skip
    assert refused.status_code == 400 and [f for f, _ in reasons(refused)] == [where]
    assert counts(db) == before
