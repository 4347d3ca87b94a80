"""linode-cli (the official CLI), unmodified, run as a subprocess against the server on loopback.

Each CLI start costs about a second, so the invocations are grouped into few tests.
"""

import pytest

from tests.compat.conftest import (
    GPU_PREFIX,
    STANDARD_TYPE_IDS,
    STRONG_PASSWORD,
    TYPE_KEYS,
    cli_errors,
    cli_json,
    token_of,
)

pytestmark = pytest.mark.slow  # starts a live server and an external client

CREATE = ("linodes", "create", "--type", "g6-standard-2", "--region", "us-east",
          "--image", "linode/debian12")  # fmt: skip


def _instances(client, headers):
    return client.get("/v4/linode/instances", headers=headers).get_json()["data"]


def test_types_and_class_filter(cli, make_token, client):
    token = make_token()
    server = client.get("/v4/linode/types?page_size=500").get_json()["data"]

    types = cli_json(cli(token, "linodes", "types"))
    assert isinstance(types, list)
    assert [t["id"] for t in types] == [t["id"] for t in server]
    assert {t["id"] for t in types} >= STANDARD_TYPE_IDS
    assert not [t["id"] for t in types if t["id"].startswith(GPU_PREFIX)]
    for t in types:
        assert set(t) == TYPE_KEYS, t["id"]
    standard = next(t for t in types if t["id"] == "g6-standard-2")
    assert standard["price"] == {"hourly": 0.036, "monthly": 24.0}

    dedicated = cli_json(cli(token, "linodes", "types", "--class", "dedicated"))
    want = [t["id"] for t in types if t["class"] == "dedicated"]
    assert want and len(want) < len(types)
    assert [t["id"] for t in dedicated] == want


def test_regions_list(cli, make_token, client):
    server = client.get("/v4/regions?page_size=500").get_json()["data"]
    regions = cli_json(cli(make_token(), "regions", "list"))
    assert [r["id"] for r in regions] == [r["id"] for r in server]
    assert "us-east" in {r["id"] for r in regions}
    for r in regions:
        assert "Linodes" in r["capabilities"]
        assert r["site_type"] in ("core", "distributed")
        assert set(r["resolvers"]) == {"ipv4", "ipv6"}


def test_create_list_view_delete(cli, make_account, client):
    _, headers = make_account()
    token = token_of(headers)

    args = ("--root_pass", STRONG_PASSWORD, "--label", "cli-test-1", "--tags", "alpha",
            "--tags", "beta")  # fmt: skip
    created = cli_json(cli(token, *CREATE, *args))
    assert isinstance(created, list) and len(created) == 1
    linode = created[0]
    assert isinstance(linode["id"], int)
    assert linode["label"] == "cli-test-1"
    assert sorted(linode["tags"]) == ["alpha", "beta"]
    assert (linode["type"], linode["region"], linode["image"]) == (
        "g6-standard-2", "us-east", "linode/debian12"
    )  # fmt: skip
    assert linode["status"] == "provisioning"
    assert [i["id"] for i in _instances(client, headers)] == [linode["id"]]

    listed = cli_json(cli(token, "linodes", "list"))
    assert [i["id"] for i in listed] == [linode["id"]]
    assert listed[0]["label"] == "cli-test-1"

    viewed = cli_json(cli(token, "linodes", "view", str(linode["id"])))
    assert len(viewed) == 1
    assert {k: viewed[0][k] for k in ("id", "label", "tags", "created")} == {
        k: linode[k] for k in ("id", "label", "tags", "created")
    }

    deleted = cli(token, "linodes", "delete", str(linode["id"]))
    assert deleted.returncode == 0, deleted.stderr
    assert _instances(client, headers) == []

    gone = cli(token, "linodes", "view", str(linode["id"]))
    assert gone.returncode == 2
    assert "404" in gone.stderr


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--root_pass", STRONG_PASSWORD, "--label", "x"), "label"),
        (("--root_pass", "password123", "--label", "cli-weak-pass"), "root_pass"),
    ],
    ids=["short-label", "weak-root-pass"],
)
def test_validation_failure_exits_2_naming_the_field(cli, make_account, client, args, field):
    _, headers = make_account()
    result = cli(token_of(headers), *CREATE, *args)
    assert result.returncode == 2, result.stdout
    assert "400" in result.stderr
    assert [e["field"] for e in cli_errors(result)] == [field]
    assert _instances(client, headers) == []


def test_bad_token_exits_2_with_401(cli):
    result = cli("not-a-real-token", "linodes", "list")
    assert result.returncode == 2
    assert "401" in result.stderr
    assert [e["reason"] for e in cli_errors(result)] == ["Invalid Token"]
