"""/v4/tags: the account's tags (explicit ones plus those on its Linodes), consistent with
instance tags: creating puts a tag on Linodes, deleting takes it off them."""

import json
from urllib.parse import quote

import pytest

BODY = {"type": "g6-nanode-1", "region": "us-east"}


def errors(response):
    return [(e.get("field"), e["reason"]) for e in response.get_json()["errors"]]


def make_linode(client, headers, label, tags=()):
    made = client.post("/v4/linode/instances", json={**BODY, "label": label, "tags": list(tags)},
                       headers=headers)  # fmt: skip
    assert made.status_code == 200, made.get_json()
    return made.get_json()["id"]


def labels(client, headers):
    return [t["label"] for t in client.get("/v4/tags", headers=headers).get_json()["data"]]


def instance_tags(client, headers, instance_id):
    return client.get(f"/v4/linode/instances/{instance_id}", headers=headers).get_json()["tags"]


def test_instance_tags_and_explicit_tags_are_listed(client, customer):
    _, headers = customer
    make_linode(client, headers, "web-1", ["alpha", "shared"])
    make_linode(client, headers, "web-2", ["shared"])
    made = client.post("/v4/tags", json={"label": "empty-one"}, headers=headers)
    assert made.status_code == 200 and made.get_json() == {"label": "empty-one"}
    assert labels(client, headers) == ["alpha", "empty-one", "shared"]
    page = client.get("/v4/tags", headers=headers).get_json()
    assert (page["page"], page["pages"], page["results"]) == (1, 1, 3)
    only = client.get("/v4/tags", headers={**headers, "X-Filter": json.dumps({"label": "alpha"})})
    assert [t["label"] for t in only.get_json()["data"]] == ["alpha"]


def test_create_puts_the_tag_on_the_linodes(client, customer):
    _, headers = customer
    first = make_linode(client, headers, "db-1", ["old"])
    second = make_linode(client, headers, "db-2")
    body = {"label": "dbs", "linodes": [first, second, first], "domains": None, "volumes": []}
    assert client.post("/v4/tags", json=body, headers=headers).status_code == 200
    assert instance_tags(client, headers, first) == ["dbs", "old"]
    assert instance_tags(client, headers, second) == ["dbs"]
    again = client.post("/v4/tags", json={"label": "dbs", "linodes": [second]}, headers=headers)
    assert again.status_code == 200  # an existing tag is kept, not duplicated
    assert labels(client, headers) == ["dbs", "old"]

    tagged = client.get("/v4/tags/dbs", headers=headers).get_json()
    assert [(o["type"], o["data"]["id"]) for o in tagged["data"]] == [
        ("linode", first), ("linode", second)]  # fmt: skip
    linode = client.get(f"/v4/linode/instances/{first}", headers=headers).get_json()
    assert tagged["data"][0]["data"] == linode


def test_delete_removes_the_tag_from_every_linode(client, customer):
    _, headers = customer
    first = make_linode(client, headers, "app-1", ["gone", "kept"])
    second = make_linode(client, headers, "app-2", ["gone"])
    client.post("/v4/tags", json={"label": "gone"}, headers=headers)
    assert client.delete("/v4/tags/gone", headers=headers).get_json() == {}
    assert instance_tags(client, headers, first) == ["kept"]
    assert instance_tags(client, headers, second) == []
    assert labels(client, headers) == ["kept"]
    assert client.get("/v4/tags/gone", headers=headers).status_code == 404
    assert client.delete("/v4/tags/gone", headers=headers).status_code == 404


def test_deleted_linodes_tags_are_not_listed(client, customer):
    _, headers = customer
    instance = make_linode(client, headers, "temp-1", ["temporary"])
    client.delete(f"/v4/linode/instances/{instance}", headers=headers)
    assert labels(client, headers) == []
    assert client.get("/v4/tags/temporary", headers=headers).status_code == 404


def test_labels_with_spaces_and_slashes(client, customer):
    _, headers = customer
    instance = make_linode(client, headers, "odd-1")
    for label in ("with space", "a/b/c", "ünï"):
        body = {"label": label, "linodes": [instance]}
        assert client.post("/v4/tags", json=body, headers=headers).status_code == 200
        found = client.get(f"/v4/tags/{quote(label, safe='')}", headers=headers).get_json()
        assert [o["data"]["id"] for o in found["data"]] == [instance]
    assert client.delete(f"/v4/tags/{quote('a/b/c', safe='')}", headers=headers).status_code == 200
    assert instance_tags(client, headers, instance) == ["with space", "ünï"]


def test_other_accounts_tags_and_linodes_are_out_of_reach(client, make_account):
    _, mine = make_account()
    _, theirs = make_account()
    their_linode = make_linode(client, theirs, "theirs-1", ["secret"])
    assert client.get("/v4/tags/secret", headers=mine).status_code == 404
    assert client.delete("/v4/tags/secret", headers=mine).status_code == 404
    assert labels(client, mine) == []
    refused = client.post("/v4/tags", json={"label": "grab", "linodes": [their_linode]},
                          headers=mine)  # fmt: skip
    assert refused.status_code == 400
    assert errors(refused) == [("linodes", f"Linode {their_linode} not found")]
    assert labels(client, mine) == []  # nothing written, not even the tag
    assert instance_tags(client, theirs, their_linode) == ["secret"]
    assert labels(client, theirs) == ["secret"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "label"),
        ({"label": "ab"}, "label"),
        ({"label": "x" * 51}, "label"),
        ({"label": 7}, "label"),
        ({"label": "tab\tbed"}, "label"),
        ({"label": "nul\x00tag"}, "label"),
        ({"label": "okay", "linodes": [2**31]}, "linodes[0]"),
        ({"label": "okay", "linodes": ["1"]}, "linodes[0]"),
        ({"label": "okay", "linodes": list(range(1, 502))}, "linodes"),
        ({"label": "okay", "linodes": 5}, "linodes"),
        ({"label": "okay", "domains": [1]}, "domains"),
        ({"label": "okay", "nodebalancers": [1]}, "nodebalancers"),
        ({"label": "okay", "reserved_ipv4_addresses": ["192.0.2.1"]}, "reserved_ipv4_addresses"),
        ({"label": "okay", "firewalls": [1]}, "firewalls"),
    ],
)
def test_bad_tag_bodies_are_400_and_write_nothing(client, customer, body, field):
    _, headers = customer
    refused = client.post("/v4/tags", json=body, headers=headers)
    assert refused.status_code == 400
    assert [f for f, _ in errors(refused)] == [field]
    assert labels(client, headers) == []


@pytest.mark.parametrize("label", ["x" * 51, "a%00b", "%20"])
def test_impossible_tag_paths_are_404(client, customer, label):
    _, headers = customer
    assert client.get(f"/v4/tags/{label}", headers=headers).status_code == 404
    assert client.delete(f"/v4/tags/{label}", headers=headers).status_code == 404


def test_tags_need_the_account_scope(client, make_account):
    _, reader = make_account(scopes="account:read_only")
    assert client.get("/v4/tags", headers=reader).status_code == 200
    assert client.post("/v4/tags", json={"label": "abc"}, headers=reader).status_code == 401
    _, linodes = make_account(scopes="linodes:read_write")
    assert client.get("/v4/tags", headers=linodes).status_code == 401
