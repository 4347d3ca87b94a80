"""Editing a Linode through the official clients, unmodified: linode_api4's
`Instance.save()` (which PUTs every mutable property it knows, `backups` included) and
`linode-cli linodes update` against the server on loopback."""

import pytest
from linode_api4 import Instance

from tests.compat.conftest import STRONG_PASSWORD, cli_json, token_of

pytestmark = pytest.mark.slow  # starts a live server and an external client


def _linode(api, label):
    return api.linode.instance_create("g6-standard-2", "us-east", image="linode/debian12",
                                      root_pass=STRONG_PASSWORD, label=label)  # fmt: skip


def test_linode_api4_save_of_label_tags_group_and_schedule(sdk, make_token):
    api = sdk(make_token())
    instance = _linode(api, "sdk-edit-1")

    instance.label = "sdk-edit-2"
    instance.tags = ["blue", "green"]
    instance.group = "web"
    assert instance.save() is True
    fresh = Instance(api, instance.id)
    assert (fresh.label, fresh.tags, fresh.group) == ("sdk-edit-2", ["blue", "green"], "web")

    fresh.backups.schedule.day = "Monday"
    fresh.backups.schedule.window = "W10"
    assert fresh.save() is True
    again = Instance(api, instance.id)
    assert (again.backups.schedule.day, again.backups.schedule.window) == ("Monday", "W10")
    assert again.backups.enabled is False and again.label == "sdk-edit-2"

    again.backups.schedule.day = "Saturday"  # the window goes back as read: kept
    again.watchdog_enabled = False
    assert again.save() is True
    last = Instance(api, instance.id)
    assert (last.backups.schedule.day, last.backups.schedule.window) == ("Saturday", "W10")
    assert last.watchdog_enabled is False and last.locks == []


def test_linode_cli_update_sets_the_backups_schedule(cli, make_account, client):
    _, headers = make_account()
    token = token_of(headers)
    body = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
            "root_pass": STRONG_PASSWORD, "label": "cli-edit-1"}  # fmt: skip
    made = client.post("/v4/linode/instances", json=body, headers=headers).get_json()

    result = cli(token, "linodes", "update", str(made["id"]), "--backups.schedule.day", "Monday",
                 "--backups.schedule.window", "W10")  # fmt: skip
    [updated] = cli_json(result)
    assert updated["backups"]["schedule"] == {"day": "Monday", "window": "W10"}
    assert updated["label"] == "cli-edit-1"

    result = cli(token, "linodes", "update", str(made["id"]), "--label", "cli-edit-2",
                 "--backups.schedule.day", "Friday")  # fmt: skip
    [updated] = cli_json(result)
    assert updated["label"] == "cli-edit-2"
    assert updated["backups"]["schedule"] == {"day": "Friday", "window": "W10"}
    [viewed] = cli_json(cli(token, "linodes", "view", str(made["id"])))
    assert viewed["backups"]["schedule"] == {"day": "Friday", "window": "W10"}
