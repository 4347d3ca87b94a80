"""The instance lifecycle through linode-cli, unmodified, against the server on loopback.

`linodes disks-list`, `configs-list`, `ips-list`, `resize` (a GPU resize included, for an
employee), `rebuild` and `clone`, with the JSON they print checked against what the API
holds. The commands exit 0 only when the response parses as linode-cli's spec expects.
"""

import pytest

from tests.compat.conftest import STRONG_PASSWORD, cli_json, token_of
from tests.support.inventory import check_invariants
from tests.support.rows import settle

pytestmark = pytest.mark.slow  # starts a live server and an external client

BODY = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": STRONG_PASSWORD}  # fmt: skip


def _made(client, headers, db, **changes):
    linode = client.post("/v4/linode/instances", json={**BODY, **changes}, headers=headers)
    assert linode.status_code == 200, linode.get_json()
    settle(db, linode.get_json()["id"], "running")
    return str(linode.get_json()["id"])


def test_disks_configs_and_addresses(cli, make_account, client, db):
    _, headers = make_account()
    token, linode_id = token_of(headers), _made(client, headers, db, private_ip=True)
    disks = cli_json(cli(token, "linodes", "disks-list", linode_id))
    assert [(d["label"], d["filesystem"]) for d in disks] == [
        ("Debian 12 Disk", "ext4"), ("512 MB Swap Image", "swap")]  # fmt: skip
    (config,) = cli_json(cli(token, "linodes", "configs-list", linode_id))
    assert config["devices"]["sda"]["disk_id"] == disks[0]["id"]
    (ips,) = cli_json(cli(token, "linodes", "ips-list", linode_id))
    public, private = ips["ipv4"]["public"][0], ips["ipv4"]["private"][0]
    assert public["address"].startswith("100.") and private["address"].startswith("192.168.")
    (one,) = cli_json(cli(token, "linodes", "ip-view", linode_id, public["address"]))
    assert one["rdns"].endswith(".ip.linodeusercontent.com")


def test_resize_rebuild_and_clone(cli, make_account, client, db):
    _, headers = make_account()
    token, linode_id = token_of(headers), _made(client, headers, db)
    resized = cli(token, "linodes", "resize", linode_id, "--type", "g6-standard-4")
    assert resized.returncode == 0, resized.stderr
    (shown,) = cli_json(cli(token, "linodes", "view", linode_id))
    assert (shown["type"], shown["status"]) == ("g6-standard-4", "resizing")
    settle(db, int(linode_id), "running")
    (rebuilt,) = cli_json(cli(token, "linodes", "rebuild", linode_id, "--image",
                              "linode/ubuntu24.04", "--root_pass", STRONG_PASSWORD))  # fmt: skip
    assert (rebuilt["image"], rebuilt["status"]) == ("linode/ubuntu24.04", "rebuilding")
    settle(db, int(linode_id), "running")
    (clone,) = cli_json(cli(token, "linodes", "clone", linode_id, "--region", "us-east",
                            "--type", "g6-standard-4", "--label", "cli-clone"))  # fmt: skip
    assert clone["label"] == "cli-clone" and clone["id"] != int(linode_id)
    copies = cli_json(cli(token, "linodes", "disks-list", str(clone["id"])))
    assert [d["filesystem"] for d in copies] == ["ext4", "swap"]


def test_an_employee_resizes_into_a_gpu_plan(cli, make_account, client, db, gpu_hosts):
    _, headers = make_account(tags=("employee",))
    token, linode_id = token_of(headers), _made(client, headers, db)
    resized = cli(token, "linodes", "resize", linode_id, "--type", "g1-gpu-rtx6000-1",
                  "--allow_auto_disk_resize", "false")  # fmt: skip
    assert resized.returncode == 0, resized.stderr
    (shown,) = cli_json(cli(token, "linodes", "view", linode_id))
    assert (shown["type"], shown["specs"]["gpus"], shown["status"]) == (
        "g1-gpu-rtx6000-1", 1, "resizing")  # fmt: skip
    assert check_invariants(db)["gpus_free"] == 15


def test_a_customer_cannot_resize_into_a_hidden_gpu_plan(cli, make_account, client, db, gpu_hosts):
    _, headers = make_account()
    token, linode_id = token_of(headers), _made(client, headers, db)
    refused = cli(token, "linodes", "resize", linode_id, "--type", "g1-gpu-rtx6000-1")
    assert refused.returncode != 0
    assert "A valid plan type by that ID was not found" in refused.stderr
