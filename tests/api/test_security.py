"""Tokens, scopes, isolation between accounts, and the admin boundary."""

import pytest
from sqlalchemy import select

from cloudapi.api.errors import INVALID_TOKEN, NOT_AUTHORIZED
from cloudapi.db.accounts import Token
from tests.support.rows import counts

BODY = {"type": "g6-nanode-1", "region": "us-east", "label": "mine"}


def reason(response):
    return response.get_json()["errors"][0]["reason"]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nope", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "0" * 64, "garbage"],
)
def test_missing_or_bad_token_is_401(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/v4/linode/instances", headers=headers)
    assert response.status_code == 401 and reason(response) == INVALID_TOKEN


def test_bad_token_on_public_endpoint_is_401(client):
    response = client.get("/v4/linode/types", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_read_only_token_cannot_write(client, make_account, db):
    _, headers = make_account(scopes="linodes:read_only")
    assert client.get("/v4/linode/instances", headers=headers).status_code == 200
    before = counts(db)
    response = client.post("/v4/linode/instances", json=BODY, headers=headers)
    assert response.status_code == 401 and reason(response) == NOT_AUTHORIZED
    assert counts(db) == before


@pytest.mark.parametrize(
    ("scopes", "path", "allowed"),
    [
        ("events:read_only", "/v4/account/events", True),
        ("events:read_only", "/v4/linode/instances", False),
        ("linodes:read_write", "/v4/account/events", False),
        ("linodes:read_write", "/v4/account", False),
        ("account:read_only", "/v4/account", True),
        ("account:read_only events:read_write", "/v4/account/events", True),
        ("*", "/v4/account", True),
    ],
)
def test_scopes_per_area(client, make_account, scopes, path, allowed):
    _, headers = make_account(scopes=scopes)
    response = client.get(path, headers=headers)
    assert response.status_code == (200 if allowed else 401)
    if not allowed:
        assert reason(response) == NOT_AUTHORIZED


def test_accounts_cannot_see_or_touch_each_other(client, make_account):
    _, owner = make_account()
    _, other = make_account()
    linode = client.post("/v4/linode/instances", json=BODY, headers=owner).get_json()
    url = f"/v4/linode/instances/{linode['id']}"
    assert client.get(url, headers=other).status_code == 404
    assert client.put(url, json={"label": "stolen"}, headers=other).status_code == 404
    assert client.post(f"{url}/shutdown", headers=other).status_code == 404
    assert client.delete(url, headers=other).status_code == 404
    assert client.get("/v4/linode/instances", headers=other).get_json()["results"] == 0
    assert client.get("/v4/account/events", headers=other).get_json()["results"] == 0
    event_id = client.get("/v4/account/events", headers=owner).get_json()["data"][0]["id"]
    assert client.get(f"/v4/account/events/{event_id}", headers=other).status_code == 404
    assert client.get(url, headers=owner).get_json()["label"] == "mine"


def test_only_token_hashes_are_stored(make_account, db):
    _, headers = make_account()
    token = headers["Authorization"].split()[1]
    with db.reader() as session:
        stored = [t.token_hash for t in session.scalars(select(Token))]
    assert token not in stored
    assert all(len(h) == 64 and h != token for h in stored)


def test_admin_token_is_not_a_customer_token(client, admin_headers):
    assert client.get("/v4/linode/instances", headers=admin_headers).status_code == 401
    assert client.get("/v4/linode/types", headers=admin_headers).status_code == 401


def test_admin_endpoints_need_admin_credentials(client, customer, admin_headers):
    account_id, headers = customer
    for h in ({}, headers):
        assert client.get("/admin/accounts", headers=h).status_code == 401
        response = client.post(f"/admin/accounts/{account_id}/tags", json={"tag": "employee"},
                               headers=h)  # fmt: skip
        assert response.status_code == 401
    assert client.get("/admin/accounts", headers=admin_headers).status_code == 200


def test_admin_tags_accounts(client, customer, admin_headers):
    account_id, _ = customer
    url = f"/admin/accounts/{account_id}/tags"
    tagged = client.post(url, json={"tag": "employee"}, headers=admin_headers).get_json()
    assert tagged["tags"] == ["employee"]
    assert client.post(url, json={"tag": "Bad Tag"}, headers=admin_headers).status_code == 400
    untagged = client.delete(f"{url}/employee", headers=admin_headers).get_json()
    assert untagged["tags"] == []
    assert client.post("/admin/accounts/999999/tags", json={"tag": "x1"},
                       headers=admin_headers).status_code == 404  # fmt: skip
    made = client.post("/admin/accounts", json={"email": "new@example.com", "tags": ["beta"]},
                       headers=admin_headers)  # fmt: skip
    assert made.status_code == 200 and made.get_json()["tags"] == ["beta"]
    again = client.post("/admin/accounts", json={"email": "new@example.com"},
                        headers=admin_headers)  # fmt: skip
    assert again.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"type": ["g6-nanode-1"], "region": {"id": "us-east"}},
        {"type": "g6-nanode-1", "region": "us-east", "tags": [1, None, {"a": 1}]},
        {"type": "g6-nanode-1", "region": "us-east", "metadata": "x"},
        {"type": "g6-nanode-1", "region": "us-east", "interfaces": {"purpose": "public"}},
        {"type": "g6-nanode-1", "region": "us-east", "interfaces": [None, 3]},
        {"type": "\x00", "region": "us-east", "label": "\u202e\u202e\u202e"},
        {"type": "g6-nanode-1", "region": "us-east", "swap_size": 10**30},
        {"type": "g6-nanode-1", "region": "us-east", "placement_group": {"id": "x"}},
        {"type": "g6-nanode-1", "region": "us-east", "ipv4": ["1.2.3.4"], "stackscript_data": 5},
    ],
)
def test_odd_bodies_are_400_not_500(client, customer, db, body):
    _, headers = customer
    before = counts(db)
    response = client.post("/v4/linode/instances", json=body, headers=headers)
    assert response.status_code == 400
    assert all("reason" in e for e in response.get_json()["errors"])
    assert counts(db) == before
