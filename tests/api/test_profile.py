"""/v4/profile: personal access tokens, preferences and grants (SSH keys: test_profile_sshkeys)."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select, text, update

from cloudapi.db.accounts import Token
from cloudapi.db.base import utcnow
from cloudapi.services import tokens

FUTURE = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S")


def errors(response):
    return [(e.get("field"), e["reason"]) for e in response.get_json()["errors"]]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def token_rows(db):
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(Token))


# -- tokens ---------------------------------------------------------------------------


def test_created_token_is_shown_once_and_works_with_its_scopes(client, customer):
    _, headers = customer
    body = {"label": "ci", "scopes": "linodes:read_only", "expiry": FUTURE}
    created = client.post("/v4/profile/tokens", json=body, headers=headers)
    assert created.status_code == 200
    made = created.get_json()
    assert len(made["token"]) == 64 and made["label"] == "ci"
    assert (made["scopes"], made["expiry"]) == ("linodes:read_only", FUTURE)

    listed = client.get("/v4/profile/tokens", headers=headers).get_json()
    assert listed["results"] == 2  # the fixture's token and the new one
    shown = next(t for t in listed["data"] if t["id"] == made["id"])
    assert shown["token"] == made["token"][:16]
    viewed = client.get(f"/v4/profile/tokens/{made['id']}", headers=headers).get_json()
    assert viewed == shown

    new = bearer(made["token"])
    assert client.get("/v4/linode/instances", headers=new).status_code == 200
    assert client.get("/v4/profile/tokens", headers=new).status_code == 401  # no account scope
    refused = client.post("/v4/linode/instances", json={"type": "g6-nanode-1"}, headers=new)
    assert refused.status_code == 401


def test_token_without_expiry_or_label_shows_linodes_never_and_a_label(client, customer):
    _, headers = customer
    made = client.post("/v4/profile/tokens", json={}, headers=headers).get_json()
    assert made["scopes"] == "*"
    assert made["label"] == f"token-{made['id']}"
    assert int(made["expiry"][:4]) - int(made["created"][:4]) == 200


def test_token_plaintext_is_stored_nowhere(client, customer, db):
    _, headers = customer
    made = client.post("/v4/profile/tokens", json={"label": "x"}, headers=headers).get_json()
    plaintext = made["token"]
    with db.reader() as session:
        stored = session.scalar(select(Token).where(Token.id == made["id"]))
        assert stored.token_hash == tokens.digest(plaintext)
        assert stored.prefix == plaintext[:16]
        for table in inspect(session.connection()).get_table_names():
            for row in session.execute(text(f'SELECT * FROM "{table}"')):
                assert plaintext not in " ".join(map(str, row)), table


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        (None, "account:read_write linodes:read_only"),
        ("*", "account:read_write linodes:read_only"),
        ("linodes:read_only", "linodes:read_only"),
        ("account:read_only", "account:read_only"),
        ("account:read_write,linodes:read_only", "account:read_write linodes:read_only"),
    ],
)
def test_scopes_are_at_most_the_callers(client, make_account, requested, granted):
    _, headers = make_account(scopes="account:read_write linodes:read_only")
    body = {} if requested is None else {"scopes": requested}
    made = client.post("/v4/profile/tokens", json=body, headers=headers)
    assert made.status_code == 200 and made.get_json()["scopes"] == granted


@pytest.mark.parametrize(
    "requested", ["linodes:read_write", "events:read_only", "* linodes:read_only", "nope",
                  "linodes:admin", "x" * 2000],
)  # fmt: skip
def test_scopes_cannot_be_escalated_or_invented(client, make_account, db, requested):
    _, headers = make_account(scopes="account:read_write linodes:read_only")
    before = token_rows(db)
    refused = client.post("/v4/profile/tokens", json={"scopes": requested}, headers=headers)
    assert refused.status_code == 400
    assert [f for f, _ in errors(refused)] == ["scopes"]
    assert token_rows(db) == before


def test_token_endpoints_need_the_account_scope(client, make_account):
    _, reader = make_account(scopes="account:read_only")
    assert client.get("/v4/profile/tokens", headers=reader).status_code == 200
    assert client.post("/v4/profile/tokens", json={}, headers=reader).status_code == 401
    _, linodes = make_account(scopes="linodes:read_write")
    assert client.get("/v4/profile/tokens", headers=linodes).status_code == 401


def test_expired_token_no_longer_authenticates(client, customer, db):
    _, headers = customer
    made = client.post("/v4/profile/tokens", json={"expiry": FUTURE}, headers=headers).get_json()
    with db.transaction() as session:
        past = utcnow() - timedelta(seconds=1)
        session.execute(update(Token).where(Token.id == made["id"]).values(expiry=past))
    assert client.get("/v4/profile", headers=bearer(made["token"])).status_code == 401
    listed = client.get("/v4/profile/tokens", headers=headers).get_json()["data"]
    assert made["id"] not in [t["id"] for t in listed]
    assert client.get(f"/v4/profile/tokens/{made['id']}", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expiry": "2001-01-01T00:00:00"}, "expiry"),
        ({"expiry": "tomorrow"}, "expiry"),
        ({"expiry": 5}, "expiry"),
        ({"label": ""}, "label"),
        ({"label": "x" * 101}, "label"),
        ({"label": "a\x00b"}, "label"),
        ({"label": ["a"]}, "label"),
        ({"token": "mine"}, "token"),
    ],
)
def test_bad_token_bodies_are_400(client, customer, db, body, field):
    _, headers = customer
    before = token_rows(db)
    refused = client.post("/v4/profile/tokens", json=body, headers=headers)
    assert refused.status_code == 400 and [f for f, _ in errors(refused)] == [field]
    assert token_rows(db) == before


def test_rename_and_revoke_including_the_token_in_use(client, customer):
    _, headers = customer
    made = client.post("/v4/profile/tokens", json={"label": "old"}, headers=headers).get_json()
    path = f"/v4/profile/tokens/{made['id']}"
    renamed = client.put(path, json={"label": "new"}, headers=headers)
    assert (
        renamed.get_json()["label"] == "new" and renamed.get_json()["token"] == made["token"][:16]
    )
    assert errors(client.put(path, json={"scopes": "*"}, headers=headers))[0][0] == "scopes"

    own = bearer(made["token"])
    assert client.delete(path, headers=own).get_json() == {}
    assert client.get("/v4/profile", headers=own).status_code == 401  # at once
    assert client.get(path, headers=headers).status_code == 404


def test_other_accounts_tokens_are_404(client, make_account):
    _, mine = make_account()
    _, theirs = make_account()
    made = client.post("/v4/profile/tokens", json={"label": "a"}, headers=mine).get_json()
    path = f"/v4/profile/tokens/{made['id']}"
    assert client.get(path, headers=theirs).status_code == 404
    assert client.put(path, json={"label": "b"}, headers=theirs).status_code == 404
    assert client.delete(path, headers=theirs).status_code == 404
    listed = client.get("/v4/profile/tokens", headers=theirs).get_json()["data"]
    assert made["id"] not in [t["id"] for t in listed]
    assert client.get(path, headers=mine).get_json()["label"] == "a"


@pytest.mark.parametrize("token_id", ["0", "2147483648", "99999999999999999999"])
def test_out_of_range_token_ids_are_404(client, customer, token_id):
    _, headers = customer
    assert client.get(f"/v4/profile/tokens/{token_id}", headers=headers).status_code == 404
    assert client.delete(f"/v4/profile/tokens/{token_id}", headers=headers).status_code == 404


def test_tokens_filter_by_label(client, customer):
    _, headers = customer
    for label in ("alpha", "beta"):
        client.post("/v4/profile/tokens", json={"label": label}, headers=headers)
    found = client.get(
        "/v4/profile/tokens", headers={**headers, "X-Filter": json.dumps({"label": "beta"})}
    ).get_json()
    assert [t["label"] for t in found["data"]] == ["beta"]
    bad = client.get("/v4/profile/tokens", headers={**headers, "X-Filter": '{"scopes": "*"}'})
    assert bad.status_code == 400 and errors(bad)[0][0] == "X-Filter"


# -- preferences and grants -----------------------------------------------------------


def test_preferences_are_stored_and_replaced(client, customer):
    _, headers = customer
    assert client.get("/v4/profile/preferences", headers=headers).get_json() == {}
    doc = {"theme": "dark", "nested": {"list": [1, 2.5, None, True]}, "text": "é☃\u2028"}
    stored = client.put("/v4/profile/preferences", json=doc, headers=headers)
    assert stored.status_code == 200 and stored.get_json() == doc
    assert client.get("/v4/profile/preferences", headers=headers).get_json() == doc
    replaced = client.put("/v4/profile/preferences", json={"a": 1}, headers=headers).get_json()
    assert replaced == {"a": 1}
    assert client.get("/v4/profile/preferences", headers=headers).get_json() == {"a": 1}


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"big": "x" * 65536}),
        "[1]",
        '"text"',
        '{"n": NaN}',
        '{"n": Infinity}',
        "{" + '"a":' * 40 + "1" + "}" * 40,
        "[" * 100_000,
        '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "{not json",
        '{"a": "\\u0000"}',
        '{"a": "\\ud800"}',
    ],
)
def test_bad_preferences_are_400(client, customer, raw):
    _, headers = customer
    refused = client.put("/v4/profile/preferences", data=raw, headers=headers,
                         content_type="application/json")  # fmt: skip
    assert refused.status_code == 400
    assert client.get("/v4/profile/preferences", headers=headers).get_json() == {}


def test_preferences_are_per_account(client, make_account):
    _, mine = make_account()
    _, theirs = make_account()
    client.put("/v4/profile/preferences", json={"mine": True}, headers=mine)
    assert client.get("/v4/profile/preferences", headers=theirs).get_json() == {}


def test_grants_are_no_content_for_an_unrestricted_user(client, make_account):
    _, headers = make_account(scopes="linodes:read_only")  # any customer token will do
    answered = client.get("/v4/profile/grants", headers=headers)
    assert answered.status_code == 204 and answered.get_data() == b""
    assert client.get("/v4/profile/grants").status_code == 401
