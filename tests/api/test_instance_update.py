"""PUT /v4/linode/instances/{id} takes what the official clients send.

linode_api4's `Instance.save()` PUTs every mutable property it knows plus
`backups: {enabled, schedule}`; linode-cli sends only the flags given; a generic client
PUTs back the whole GET answer. Read-only values sent unchanged are accepted and
ignored; a changed one is a 400 naming it (linode-openapi.yaml, updateLinodeInstance:
the request schema is the Linode object, its read-only properties marked readOnly).
"""

import pytest

from tests.support.rows import counts

URL = "/v4/linode/instances"
BASE = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": "Gpu-Demo-2026!x", "label": "web-1"}  # fmt: skip
# What linode_api4 5.48 sent for `instance.label = "web-2"; instance.save()` (recorded).
SDK_SAVE = {"label": "web-2", "tags": [], "watchdog_enabled": True,
            "alerts": {"cpu": 180, "network_in": 10, "network_out": 10, "transfer_quota": 80,
                       "io": 10000},
            "backups": {"enabled": False, "schedule": {"day": None, "window": None}},
            "maintenance_policy": "linode/migrate"}  # fmt: skip


@pytest.fixture
def linode(client, customer):
    """A fresh Linode of the customer: (its GET answer, headers)."""
    _, headers = customer
    response = client.post(URL, json=BASE, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), headers


def put(client, headers, instance_id, body):
    return client.put(f"{URL}/{instance_id}", json=body, headers=headers)


def errors_of(response):
    return [(e.get("field"), e["reason"]) for e in response.get_json()["errors"]]


def without_updated(view):
    return {k: v for k, v in view.items() if k != "updated"}


def test_the_whole_get_answer_put_back_is_accepted_and_changes_nothing(client, linode):
    view, headers = linode
    response = put(client, headers, view["id"], view)
    assert response.status_code == 200, response.get_json()
    assert without_updated(response.get_json()) == without_updated(view)


def test_the_sdk_save_body_is_accepted(client, linode):
    view, headers = linode
    response = put(client, headers, view["id"], SDK_SAVE)
    assert response.status_code == 200, response.get_json()
    saved = response.get_json()
    assert saved["label"] == "web-2"
    assert saved["backups"] == view["backups"]
    got = client.get(f"{URL}/{view['id']}", headers=headers).get_json()
    assert got["label"] == "web-2"


def test_a_new_linode_has_no_schedule_and_no_locks(linode):
    view, _ = linode
    assert view["backups"]["schedule"] == {"day": None, "window": None}
    assert view["locks"] == []


def test_backups_schedule_is_stored_and_shown(client, linode):
    view, headers = linode
    body = {"backups": {"schedule": {"day": "Monday", "window": "W10"}}}  # linode-cli's body
    response = put(client, headers, view["id"], body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["backups"]["schedule"] == {"day": "Monday", "window": "W10"}
    got = client.get(f"{URL}/{view['id']}", headers=headers).get_json()
    assert got["backups"]["schedule"] == {"day": "Monday", "window": "W10"}
    assert got["backups"]["enabled"] is False

    put(client, headers, view["id"], {"backups": {"schedule": {"day": "Friday"}}})
    got = client.get(f"{URL}/{view['id']}", headers=headers).get_json()
    assert got["backups"]["schedule"] == {"day": "Friday", "window": "W10"}  # window kept

    # The SDK sends back what it read, a null included: null chooses nothing, keeps all.
    nulls = {"backups": {"enabled": False, "schedule": {"day": None, "window": None}}}
    assert put(client, headers, view["id"], nulls).status_code == 200
    got = client.get(f"{URL}/{view['id']}", headers=headers).get_json()
    assert got["backups"]["schedule"] == {"day": "Friday", "window": "W10"}


def test_every_day_and_window_of_linodes_enum_is_accepted(client, linode):
    view, headers = linode
    days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    windows = [f"W{h}" for h in range(0, 24, 2)]
    for day, window in zip(days * 2, windows, strict=False):
        body = {"backups": {"schedule": {"day": day, "window": window}}}
        response = put(client, headers, view["id"], body)
        assert response.get_json()["backups"]["schedule"] == {"day": day, "window": window}


@pytest.mark.parametrize(
    ("backups", "field"),
    [
        ({"schedule": {"day": "Funday"}}, "backups.schedule.day"),
        ({"schedule": {"day": "monday"}}, "backups.schedule.day"),
        ({"schedule": {"window": "W1"}}, "backups.schedule.window"),
        ({"schedule": {"window": "W24"}}, "backups.schedule.window"),  # not in Linode's enum
        ({"schedule": {"window": 10}}, "backups.schedule.window"),
        ({"schedule": {"hour": 3}}, "backups.schedule.hour"),
        ({"schedule": "Monday"}, "backups.schedule"),
        ({"enabled": "no"}, "backups.enabled"),
        ({"frequency": "daily"}, "backups.frequency"),
        ("on", "backups"),
    ],
)
def test_bad_backups_values_are_400_naming_the_field(client, linode, db, backups, field):
    view, headers = linode
    before = counts(db)
    response = put(client, headers, view["id"], {"label": "web-9", "backups": backups})
    assert response.status_code == 400
    assert [f for f, _ in errors_of(response)] == [field]
    got = client.get(f"{URL}/{view['id']}", headers=headers).get_json()
    assert got["label"] == "web-1" and got["backups"] == view["backups"]
    assert counts(db) == before


# Each case: a read-only property, a changed value, and words its reason must have.
READ_ONLY_CHANGES = [
    ("type", "g6-nanode-1", "resize"),
    ("region", "us-west", "migrate"),
    ("image", "linode/debian11", "rebuild"),
    ("specs", {"disk": 1, "memory": 1, "vcpus": 1, "gpus": 0, "transfer": 1}, "resize"),
    ("ipv4", ["192.0.2.1"], "read-only"),
    ("ipv6", "2001:db8::ffff/128", "read-only"),
    ("id", 12345, "read-only"),
    ("created", "2001-01-01T00:00:00", "read-only"),
    ("hypervisor", "xen", "read-only"),
    ("host_uuid", "00000000-0000-0000-0000-000000000000", "read-only"),
    ("has_user_data", True, "read-only"),
    ("disk_encryption", "enabled", "rebuild"),
    ("lke_cluster_id", 5, "read-only"),
    ("placement_group", {"id": 1}, "placement"),
    ("site_type", "distributed", "read-only"),
    ("capabilities", ["SMTP Enabled"], "read-only"),
    ("interface_generation", "linode", "upgrade-interfaces"),
    ("locks", ["cannot_delete"], "read-only"),
]


@pytest.mark.parametrize(("name", "value", "words"), READ_ONLY_CHANGES)
def test_a_changed_read_only_value_is_400_naming_it(client, linode, db, name, value, words):
    view, headers = linode
    before = counts(db)
    response = put(client, headers, view["id"], {**view, "label": "web-9", name: value})
    assert response.status_code == 400
    [(field, reason)] = errors_of(response)
    assert field == name and words in reason
    got = client.get(f"{URL}/{view['id']}", headers=headers).get_json()
    assert got == view  # the label in the same body was not applied either
    assert counts(db) == before


def test_enabling_backups_by_put_is_refused_pointing_to_backups_enable(client, linode):
    view, headers = linode
    body = {"backups": {"enabled": True, "schedule": {"day": "Monday", "window": "W2"}}}
    response = put(client, headers, view["id"], body)
    assert response.status_code == 400
    [(field, reason)] = errors_of(response)
    assert field == "backups.enabled" and "/backups/enable" in reason
    got = client.get(f"{URL}/{view['id']}", headers=headers).get_json()
    assert got["backups"] == view["backups"]


def test_changes_to_several_read_only_values_are_all_named(client, linode):
    view, headers = linode
    body = {"type": "g6-nanode-1", "region": "us-west", "backups": {"enabled": True}}
    response = put(client, headers, view["id"], body)
    assert response.status_code == 400
    assert sorted(f for f, _ in errors_of(response)) == ["backups.enabled", "region", "type"]


def test_values_that_change_by_themselves_may_be_stale(client, linode):
    """`status`, `updated` and `backups.last_successful` move on their own: a client that
    read them a minute ago and sends them back changes nothing and is not refused."""
    view, headers = linode
    stale = {"status": "running", "updated": "2001-01-01T00:00:00",
             "backups": {"last_successful": "2001-01-01T00:00:00"}, "label": "web-3"}  # fmt: skip
    response = put(client, headers, view["id"], stale)
    assert response.status_code == 200, response.get_json()
    got = response.get_json()
    assert got["status"] == view["status"] and got["label"] == "web-3"
    assert got["backups"]["last_successful"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "exploded"}, "status"),
        ({"status": 5}, "status"),
        ({"updated": 5}, "updated"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"backups": {"last_successful": 7}}, "backups.last_successful"),
    ],
)
def test_volatile_and_unknown_fields_are_still_checked(client, linode, body, field):
    view, headers = linode
    response = put(client, headers, view["id"], body)
    assert response.status_code == 400
    assert [f for f, _ in errors_of(response)] == [field]


def test_another_accounts_linode_is_not_found(client, linode, make_account):
    view, _ = linode
    _, theirs = make_account()
    assert put(client, theirs, view["id"], {"label": "mine-now"}).status_code == 404
    assert put(client, theirs, view["id"], view).status_code == 404
