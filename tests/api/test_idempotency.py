"""Idempotency-Key on creates: bound to its request, answered as first, forgotten on failure."""

import json
from datetime import timedelta

from sqlalchemy import select, update

from cloudapi.db.base import utcnow
from cloudapi.db.instances import IdempotencyRequest
from cloudapi.services.idempotency import request_hash
from tests.support.rows import counts

BODY = {"type": "g6-nanode-1", "region": "us-east", "label": "keyed-1", "tags": ["alpha"],
        "image": "linode/debian12", "root_pass": "Keyed-Create-2026!x"}  # fmt: skip
URL = "/v4/linode/instances"


def _keyed(headers, key="k-1"):
    return {**headers, "Idempotency-Key": key}


def test_a_key_is_bound_to_its_request_body(client, customer, db):
    _, headers = customer
    first = client.post(URL, json=BODY, headers=_keyed(headers))
    assert first.status_code == 200
    before = counts(db)
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=2)
    same = client.post(URL, data=reordered, content_type="application/json",
                       headers=_keyed(headers))  # fmt: skip
    assert same.status_code == 200 and same.get_json() == first.get_json()
    other = client.post(URL, json={**BODY, "label": "keyed-2"}, headers=_keyed(headers))
    assert other.status_code == 400
    assert other.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert counts(db) == before


def test_a_replay_after_the_delete_answers_as_the_first_create(client, customer, db):
    _, headers = customer
    first = client.post(URL, json=BODY, headers=_keyed(headers))
    assert client.delete(f"{URL}/{first.get_json()['id']}", headers=headers).status_code == 200
    before = counts(db)
    again = client.post(URL, json=BODY, headers=_keyed(headers))
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert counts(db) == before


def test_a_failed_create_leaves_no_key(client, customer, db):
    _, headers = customer
    bad = client.post(URL, json={**BODY, "region": "nowhere"}, headers=_keyed(headers))
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "region"
    with db.reader() as session:
        assert session.scalars(select(IdempotencyRequest)).all() == []
    good = client.post(URL, json=BODY, headers=_keyed(headers))
    assert good.status_code == 200 and good.get_json()["label"] == "keyed-1"


def test_a_key_older_than_a_day_may_be_used_again(client, customer, db):
    account_id, headers = customer
    first = client.post(URL, json=BODY, headers=_keyed(headers)).get_json()
    with db.transaction() as session:
        session.execute(
            update(IdempotencyRequest).values(created=utcnow() - timedelta(hours=25))
        )  # fmt: skip
    body = {**BODY, "label": "keyed-later"}  # an old key is free: any body goes
    later = client.post(URL, json=body, headers=_keyed(headers))
    assert later.status_code == 200 and later.get_json()["id"] != first["id"]
    with db.reader() as session:
        row = session.get(IdempotencyRequest, (account_id, "k-1"))
        assert (row.instance_id, row.request_hash) == (later.get_json()["id"], request_hash(body))


def test_the_request_hash_ignores_key_order_and_spacing():
    assert request_hash({"a": 1, "b": [1, 2]}) == request_hash({"b": [1, 2], "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": 2})


def test_the_request_hash_leaves_the_password_out():
    """An unsalted hash of a body whose other fields are stored would give the password
    away to a dictionary attack, so the password is not part of it."""
    body = {"type": "g6-nanode-1", "region": "us-east", "image": "linode/debian12"}
    assert request_hash({**body, "root_pass": "One-Pass-2026!x"}) == request_hash(
        {**body, "root_pass": "Two-Pass-2026!y"}
    )
    assert request_hash(body) == request_hash({**body, "root_pass": "One-Pass-2026!x"})
