"""What clients read at start-up: account settings, users, notifications, maintenance,
maintenance policies and kernels."""

import json

import pytest

from tests.support import sshkeys as make_key

DEFAULT_SETTINGS = {
    "managed": False,
    "longview_subscription": None,
    "network_helper": True,
    "backups_enabled": False,
    "object_storage": "disabled",
    "interfaces_for_new_linodes": "legacy_config_only",
    "maintenance_policy": "linode/migrate",
    "tfa_enforced": False,
}


def errors(response):
    return [(e.get("field"), e["reason"]) for e in response.get_json()["errors"]]


def with_filter(headers, flt):
    return {**headers, "X-Filter": json.dumps(flt)}


# -- settings -------------------------------------------------------------------------


def test_settings_default_then_stored(client, make_account):
    _, headers = make_account()
    _, other = make_account()
    assert client.get("/v4/account/settings", headers=headers).get_json() == DEFAULT_SETTINGS
    change = {"backups_enabled": True, "network_helper": False,
              "maintenance_policy": "linode/power_off_on",
              "interfaces_for_new_linodes": "linode_default_but_legacy_config_allowed"}  # fmt: skip
    changed = client.put("/v4/account/settings", json=change, headers=headers)
    assert changed.status_code == 200 and changed.get_json() == {**DEFAULT_SETTINGS, **change}
    again = client.put("/v4/account/settings", json={"backups_enabled": False}, headers=headers)
    assert again.get_json() == {**DEFAULT_SETTINGS, **change, "backups_enabled": False}
    assert client.get("/v4/account/settings", headers=headers).get_json() == again.get_json()
    assert client.get("/v4/account/settings", headers=other).get_json() == DEFAULT_SETTINGS


def test_read_only_settings_are_accepted_only_unchanged(client, customer):
    _, headers = customer
    same = {"managed": False, "longview_subscription": None, "object_storage": "disabled"}
    assert client.put("/v4/account/settings", json=same, headers=headers).status_code == 200
    refused = client.put("/v4/account/settings", json={"managed": True}, headers=headers)
    assert errors(refused) == [("managed", "managed is read-only")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"backups_enabled": "yes"}, "backups_enabled"),
        ({"network_helper": 1}, "network_helper"),
        ({"maintenance_policy": "linode/never"}, "maintenance_policy"),
        ({"interfaces_for_new_linodes": "x" * 10_000}, "interfaces_for_new_linodes"),
        ({"longview_subscription": "longview-3"}, "longview_subscription"),
        ({"tfa": True}, "tfa"),
    ],
)
def test_bad_settings_are_400_and_change_nothing(client, customer, body, field):
    _, headers = customer
    refused = client.put("/v4/account/settings", json=body, headers=headers)
    assert refused.status_code == 400 and [f for f, _ in errors(refused)] == [field]
    assert client.get("/v4/account/settings", headers=headers).get_json() == DEFAULT_SETTINGS


def test_settings_need_the_account_scope(client, make_account):
    _, reader = make_account(scopes="account:read_only")
    assert client.get("/v4/account/settings", headers=reader).status_code == 200
    assert client.put("/v4/account/settings", json={}, headers=reader).status_code == 401
    _, linodes = make_account(scopes="linodes:read_write")
    assert client.get("/v4/account/settings", headers=linodes).status_code == 401


# -- users ----------------------------------------------------------------------------


def test_the_account_has_one_user_with_its_key_labels(client, customer):
    _, headers = customer
    profile = client.get("/v4/profile", headers=headers).get_json()
    client.post("/v4/profile/sshkeys", json={"label": "laptop", "ssh_key": make_key.rsa()},
                headers=headers)  # fmt: skip
    users = client.get("/v4/account/users", headers=headers).get_json()
    assert users["results"] == 1
    user = users["data"][0]
    assert (user["username"], user["email"]) == (profile["username"], profile["email"])
    assert (user["restricted"], user["tfa_enabled"], user["user_type"]) == (False, False, "default")
    assert user["ssh_keys"] == ["laptop"]
    path = f"/v4/account/users/{profile['username']}"
    assert client.get(path, headers=headers).get_json() == user
    filtered = client.get("/v4/account/users", headers=with_filter(headers, {"username": "x"}))
    assert filtered.get_json()["data"] == []


def test_other_usernames_are_404(client, make_account):
    _, mine = make_account()
    _, theirs = make_account()
    their_name = client.get("/v4/profile", headers=theirs).get_json()["username"]
    assert client.get(f"/v4/account/users/{their_name}", headers=mine).status_code == 404
    assert client.get("/v4/account/users/nobody", headers=mine).status_code == 404
    assert client.get("/v4/account/users/" + "a" * 3000, headers=mine).status_code == 404


# -- notifications, maintenance, policies ---------------------------------------------


def test_notifications_and_maintenance_are_empty_pages(client, customer):
    _, headers = customer
    empty = {"data": [], "page": 1, "pages": 1, "results": 0}
    assert client.get("/v4/account/notifications", headers=headers).get_json() == empty
    assert client.get("/v4/account/maintenance", headers=headers).get_json() == empty
    status = with_filter(headers, {"status": "pending"})
    assert client.get("/v4/account/maintenance", headers=status).get_json() == empty
    bad = client.get("/v4/account/maintenance", headers=with_filter(headers, {"nope": 1}))
    assert bad.status_code == 400 and errors(bad)[0][0] == "X-Filter"
    assert client.get("/v4/account/notifications").status_code == 401


def test_maintenance_needs_only_a_customer_token(client, make_account):
    _, headers = make_account(scopes="linodes:read_only")
    assert client.get("/v4/account/maintenance", headers=headers).status_code == 200
    assert client.get("/v4/account/notifications", headers=headers).status_code == 401


def test_maintenance_policies_are_linodes_two(client):
    policies = client.get("/v4/maintenance/policies").get_json()
    assert [p["slug"] for p in policies["data"]] == ["linode/migrate", "linode/power_off_on"]
    assert [p["is_default"] for p in policies["data"]] == [True, False]
    assert {p["type"] for p in policies["data"]} == {"migrate", "power_off_on"}


# -- kernels --------------------------------------------------------------------------


def test_kernels_list_view_and_filter(client):
    listed = client.get("/v4/linode/kernels").get_json()
    ids = [k["id"] for k in listed["data"]]
    assert {"linode/grub2", "linode/direct-disk", "linode/latest-64bit"} <= set(ids)
    assert any(k["version"] and k["id"][7].isdigit() for k in listed["data"])  # versioned ones
    grub = client.get("/v4/linode/kernels/linode/grub2")
    assert grub.status_code == 200 and grub.get_json()["label"] == "GRUB 2"
    assert client.get("/v4/linode/kernels/linode/nope").status_code == 404
    live = client.get("/v4/linode/kernels", headers={"X-Filter": '{"deprecated": false}'})
    assert all(not k["deprecated"] for k in live.get_json()["data"])
    assert len(live.get_json()["data"]) < len(ids)
    bad = client.get("/v4/linode/kernels", headers={"X-Filter": '{"kvm": "yes"}'})
    assert bad.status_code == 400
    assert (
        client.get("/v4/linode/kernels", headers={"Authorization": "Bearer no"}).status_code == 401
    )
