"""Cloud Firewalls through the official clients, unmodified: linode_api4 and linode-cli
against the server on loopback (the flows both clients' own suites and Terraform use)."""

import json

import pytest
from linode_api4 import ApiError, Firewall, FirewallDevice, Instance

from tests.compat.conftest import STRONG_PASSWORD, cli_errors, cli_json, token_of

pytestmark = pytest.mark.slow  # starts a live server and an external client

SSH = {"protocol": "TCP", "ports": "22, 80, 443, 8000-8080", "action": "ACCEPT",
       "addresses": {"ipv4": ["192.0.2.0/24", "198.51.100.2/32"], "ipv6": ["2001:DB8::/128"]},
       "label": "web-in"}  # fmt: skip
RULES = {"inbound_policy": "DROP", "outbound_policy": "ACCEPT", "inbound": [SSH], "outbound": []}


def _linode(api, label):
    return api.linode.instance_create("g6-standard-2", "us-east", image="linode/debian12",
                                      root_pass=STRONG_PASSWORD, label=label)  # fmt: skip


def _applies(db, instance_id):
    from sqlalchemy import select

    from cloudapi.db.jobs import Job

    with db.reader() as session:
        query = select(Job).where(Job.instance_id == instance_id, Job.action == "firewall_apply")
        return [j.payload for j in session.scalars(query.order_by(Job.created))]


def test_linode_api4_firewall_flow(sdk, make_token, db):
    api = sdk(make_token())
    instance = _linode(api, "sdk-web-1")
    firewall = api.networking.firewall_create("sdk-fw", rules=RULES, tags=["sdk"])
    assert isinstance(firewall, Firewall)
    assert (firewall.label, firewall.status, firewall.tags) == ("sdk-fw", "enabled", ["sdk"])
    assert firewall.rules.inbound_policy == "DROP"
    assert firewall.rules.inbound[0].ports == SSH["ports"]
    rules = firewall.get_rules()
    assert rules["inbound"] == [SSH] and rules["version"] == 1

    device = firewall.device_create(instance.id)
    assert isinstance(device, FirewallDevice) and device.entity.id == instance.id
    assert [d.entity.id for d in firewall.devices] == [instance.id]
    assert [(f.id, f.label) for f in instance.firewalls()] == [(firewall.id, "sdk-fw")]
    assert _applies(db, instance.id)[-1]["rules"] == rules

    changed = {**rules, "inbound": [SSH, {**SSH, "ports": "22", "label": "ssh-in"}]}
    firewall.update_rules(changed)  # a GET's answer sent back changed, fingerprint included
    after = firewall.get_rules()
    assert len(after["inbound"]) == 2 and after["version"] == 2
    assert _applies(db, instance.id)[-1]["rules"] == after

    firewall.label = "sdk-fw-renamed"
    firewall.save()
    assert Firewall(api, firewall.id).label == "sdk-fw-renamed"
    assert [f.label for f in api.networking.firewalls(Firewall.label == "sdk-fw-renamed")] == [
        "sdk-fw-renamed"]  # fmt: skip
    assert instance.apply_firewalls() is True

    with pytest.raises(ApiError) as refused:
        api.networking.firewall_create("sdk-fw-2", rules={**RULES, "inbound": [
            {**SSH, "protocol": "ICMP"}]})  # fmt: skip
    assert refused.value.status == 400
    assert "rules.inbound[0].ports" in str(refused.value)
    with pytest.raises(ApiError) as taken:
        api.networking.firewall_create("sdk-fw-3", rules=RULES).device_create(instance.id)
    assert taken.value.status == 400

    device.delete()
    assert list(firewall.devices) == []
    assert _applies(db, instance.id)[-1]["rules"] is None
    firewall.delete()
    with pytest.raises(ApiError) as gone:
        Firewall(api, firewall.id).label  # noqa: B018 (the property load is the request)
    assert gone.value.status == 404
    assert isinstance(Instance(api, instance.id).label, str)


def test_linode_api4_create_with_devices(sdk, make_token):
    api = sdk(make_token())
    instance = _linode(api, "sdk-web-2")
    firewall = api.networking.firewall_create(
        "sdk-fw-devices", rules=RULES, devices={"linodes": [instance.id]}
    )
    assert [d.entity.id for d in firewall.devices] == [instance.id]


def test_linode_cli_firewall_flow(cli, make_account, client, db):
    _, headers = make_account()
    token = token_of(headers)
    body = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
            "root_pass": STRONG_PASSWORD, "label": "cli-web-1"}  # fmt: skip
    instance = client.post("/v4/linode/instances", json=body, headers=headers).get_json()

    created = cli_json(cli(token, "firewalls", "create", "--label", "cli-fw",
                           "--rules.outbound_policy", "ACCEPT", "--rules.inbound_policy", "DROP",
                           "--rules.inbound", json.dumps([SSH])))  # fmt: skip
    assert len(created) == 1
    firewall = created[0]
    assert (firewall["label"], firewall["status"]) == ("cli-fw", "enabled")
    assert firewall["rules"]["inbound"] == [SSH]

    listed = cli_json(cli(token, "firewalls", "list"))
    assert [f["id"] for f in listed] == [firewall["id"]]
    rules = cli_json(cli(token, "firewalls", "rules-list", str(firewall["id"])))
    assert rules[0]["inbound"] == [SSH] and rules[0]["inbound_policy"] == "DROP"

    device = cli_json(cli(token, "firewalls", "device-create", str(firewall["id"]),
                          "--id", str(instance["id"]), "--type", "linode"))  # fmt: skip
    assert device[0]["entity"]["id"] == instance["id"]
    devices = cli_json(cli(token, "firewalls", "devices-list", str(firewall["id"])))
    assert [d["entity"]["label"] for d in devices] == ["cli-web-1"]
    mine = cli_json(cli(token, "linodes", "firewalls-list", str(instance["id"])))
    assert [f["id"] for f in mine] == [firewall["id"]]
    assert _applies(db, instance["id"])[-1]["firewall_id"] == firewall["id"]

    updated = cli_json(cli(token, "firewalls", "rules-update", str(firewall["id"]),
                           "--inbound_policy", "ACCEPT"))  # fmt: skip
    assert updated[0]["inbound_policy"] == "ACCEPT" and updated[0]["inbound"] == [SSH]

    missing = cli(token, "firewalls", "create", "--label", "cli-fw-2",
                  "--rules.outbound_policy", "ACCEPT")  # fmt: skip
    assert missing.returncode == 2 and "Request failed: 400" in missing.stderr
    assert cli_errors(missing) == [{"field": "rules.inbound_policy",
                                    "reason": "inbound_policy is required"}]  # fmt: skip
    taken = cli(token, "firewalls", "create", "--label", "cli-fw",
                "--rules.outbound_policy", "ACCEPT", "--rules.inbound_policy", "DROP")  # fmt: skip
    assert "Label must be unique among your Cloud Firewalls" in taken.stderr
    assert cli(token, "firewalls", "delete", str(firewall["id"])).returncode == 0
