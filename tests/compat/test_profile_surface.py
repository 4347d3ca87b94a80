"""linode-cli and linode_api4, unmodified, on the profile and account surface: tokens,
SSH keys, tags, account settings, kernels (against the server on loopback)."""

from datetime import datetime, timedelta

import pytest
from linode_api4 import ApiError, Instance, Kernel, PersonalAccessToken, SSHKey, Tag

from tests.compat.conftest import cli_errors, cli_json, token_of
from tests.support import sshkeys as make_key

pytestmark = pytest.mark.slow  # starts a live server and an external client
LINODE = {"type": "g6-nanode-1", "region": "us-east"}


def _linode(client, headers, label, tags=()):
    made = client.post("/v4/linode/instances", json={**LINODE, "label": label,
                       "tags": list(tags)}, headers=headers)  # fmt: skip
    assert made.status_code == 200, made.get_json()
    return made.get_json()["id"]


def test_cli_tokens_keys_tags_and_settings(cli, make_account, client):
    _, headers = make_account()
    token = token_of(headers)

    created = cli_json(cli(token, "profile", "token-create", "--label", "from-cli",
                           "--scopes", "linodes:read_only account:read_only"))  # fmt: skip
    assert len(created) == 1 and created[0]["label"] == "from-cli"
    assert created[0]["scopes"] == "account:read_only linodes:read_only"
    new_token = created[0]["token"]
    assert len(new_token) == 64
    listed = cli_json(cli(token, "profile", "tokens-list"))
    assert {t["label"] for t in listed} >= {"from-cli"}
    assert {t["token"] for t in listed if t["id"] == created[0]["id"]} == {new_token[:16]}
    assert cli_json(cli(new_token, "linodes", "list")) == []  # the new token works

    escalate = cli(new_token, "profile", "token-create", "--scopes", "*")
    assert escalate.returncode == 2 and "401" in escalate.stderr  # needs account:read_write
    beyond = cli(token_of(make_account(scopes="account:read_write")[1]), "profile",
                 "token-create", "--scopes", "linodes:read_write")  # fmt: skip
    assert beyond.returncode == 2 and [e["field"] for e in cli_errors(beyond)] == ["scopes"]

    key = make_key.ed25519("cli@test")
    added = cli_json(cli(token, "sshkeys", "create", "--label", "cli-key", "--ssh_key", key))
    assert (added[0]["label"], added[0]["ssh_key"]) == ("cli-key", key)
    bad = cli(token, "sshkeys", "create", "--label", "bad", "--ssh_key", "WrongFormatSshKey")
    assert bad.returncode == 2 and [e["field"] for e in cli_errors(bad)] == ["ssh_key"]
    assert [k["label"] for k in cli_json(cli(token, "sshkeys", "list"))] == ["cli-key"]

    _linode(client, headers, "cli-tagged", ["from-linode"])
    cli_json(cli(token, "tags", "create", "--label", "from-cli"))
    assert [t["label"] for t in cli_json(cli(token, "tags", "list"))] == ["from-cli", "from-linode"]

    settings = cli_json(cli(token, "account", "settings"))
    assert settings[0]["network_helper"] is True and settings[0]["managed"] is False
    cli_json(cli(token, "account", "settings-update", "--backups_enabled", "true"))
    assert client.get("/v4/account/settings", headers=headers).get_json()["backups_enabled"]


def test_sdk_tokens_and_keys(sdk, make_account, client):
    _, headers = make_account()
    api = sdk(token_of(headers))
    expiry = datetime.utcnow().replace(microsecond=0) + timedelta(days=7)
    made = api.profile.token_create(label="from-sdk", scopes="linodes:read_only", expiry=expiry)
    assert isinstance(made, PersonalAccessToken) and len(made.token) == 64
    assert made.expiry == expiry and made.scopes == "linodes:read_only"
    tokens = list(api.profile.tokens())
    assert "from-sdk" in {t.label for t in tokens}
    assert all(isinstance(t.created, datetime) for t in tokens)
    mine = next(t for t in tokens if t.id == made.id)
    assert mine.token == made.token[:16]
    mine.label = "renamed"
    mine.save()
    assert client.get(f"/v4/profile/tokens/{made.id}", headers=headers).get_json()["label"] == (
        "renamed")  # fmt: skip
    mine.delete()
    with pytest.raises(ApiError) as gone:
        sdk(made.token).linode.instances()[0:1]
    assert gone.value.status == 401

    key = api.profile.ssh_key_upload(make_key.rsa("sdk@test"), "sdk-key")
    assert isinstance(key, SSHKey) and key.label == "sdk-key"
    assert [k.label for k in api.profile.ssh_keys()] == ["sdk-key"]
    assert api.profile().grants is None  # unrestricted: 204 No Content


def test_sdk_tags_settings_kernels_and_policies(sdk, make_account, client):
    _, headers = make_account()
    api = sdk(token_of(headers))
    first = _linode(client, headers, "sdk-tagged-1", ["existing"])
    second = _linode(client, headers, "sdk-tagged-2")

    tag = api.tag_create("sdk-tag", instances=[first, Instance(api, second)])
    assert isinstance(tag, Tag) and tag.label == "sdk-tag"
    assert sorted(t.label for t in api.tags()) == ["existing", "sdk-tag"]
    tagged = list(Tag(api, "sdk-tag").objects)
    assert sorted(o.id for o in tagged) == [first, second]
    assert all(isinstance(o, Instance) for o in tagged)
    Tag(api, "existing").delete()
    assert client.get(f"/v4/linode/instances/{first}", headers=headers).get_json()["tags"] == [
        "sdk-tag"]  # fmt: skip

    settings = api.account.settings()
    assert (settings.managed, settings.network_helper, settings.object_storage) == (
        False, True, "disabled")  # fmt: skip
    assert settings.longview_subscription is None
    settings.network_helper = False
    settings.maintenance_policy = "linode/power_off_on"
    settings.save()
    stored = client.get("/v4/account/settings", headers=headers).get_json()
    assert (stored["network_helper"], stored["maintenance_policy"]) == (
        False,
        "linode/power_off_on",
    )

    kernels = list(api.linode.kernels())
    assert {"linode/grub2", "linode/direct-disk", "linode/latest-64bit"} <= {k.id for k in kernels}
    assert all(isinstance(k, Kernel) for k in kernels)
    assert {k.id for k in api.linode.kernels(Kernel.deprecated == False)} < {  # noqa: E712
        k.id for k in kernels}  # fmt: skip
    assert Kernel(api, "linode/grub2").label == "GRUB 2"
    policies = api.maintenance.maintenance_policies()
    assert [p.slug for p in policies] == ["linode/migrate", "linode/power_off_on"]
