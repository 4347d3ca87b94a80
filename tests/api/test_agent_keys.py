"""Agents' public keys (PUT /internal/agents/key) and the secrets sealed to them at the
outbox: a create's root_pass reaches its job sealed to the queue's newest key, and is
never in clear in a row; with no key registered it is not sent at all."""

import base64
import logging

from nacl.public import PrivateKey
from sqlalchemy import select

from cloudapi.agent.keys import KeyRing, SealedSecretError
from cloudapi.db.agent_keys import AgentKey
from cloudapi.db.jobs import Job
from cloudapi.services import idempotency, sealing, tokens
from tests.api.test_rebuild import tables_holding
from tests.support import sshkeys
from tests.support.sealing import agent_ring, opened_secret

URL = "/v4/linode/instances"
SECRET = "Sealed-Root-2026!q"
BODY = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": SECRET}  # fmt: skip


def host_headers(db, host):
    with db.transaction() as session:
        return {"Authorization": f"Bearer {tokens.create(session, host=host)}"}


def create_job(client, db, headers, body=BODY):
    made = client.post(URL, json=body, headers=headers)
    assert made.status_code == 200, made.get_json()
    with db.reader() as session:
        return session.scalars(select(Job).where(Job.instance_id == made.get_json()["id"])).one()


def test_an_agent_registers_its_key_with_its_host_token(client, db, customer, tmp_path):
    ring = KeyRing(tmp_path / "keys")
    headers = host_headers(db, "pool.us-east")
    put = client.put("/internal/agents/key", json={"public_key": ring.public_key},
                     headers=headers)  # fmt: skip
    assert put.status_code == 200
    shown = put.get_json()
    assert (shown["agent"], shown["key_id"]) == ("pool.us-east", ring.current)
    again = client.put("/internal/agents/key", json={"public_key": ring.public_key},
                       headers=headers)  # fmt: skip
    assert again.get_json() == shown  # a restart registers the same key: one row
    with db.reader() as session:
        assert session.scalars(select(AgentKey)).all()[0].public_key == ring.public_key
    _, customer_headers = customer
    refused = client.put("/internal/agents/key", json={"public_key": ring.public_key},
                         headers=customer_headers)  # fmt: skip
    assert refused.status_code in (401, 403)


def test_a_key_that_is_not_a_key_is_refused(client, db):
    headers = host_headers(db, "pool.us-east")
    for bad in ("not base64!", base64.b64encode(b"short").decode(), ""):
        answer = client.put("/internal/agents/key", json={"public_key": bad}, headers=headers)
        assert answer.status_code == 400
        assert answer.get_json()["errors"][0]["field"] == "public_key"
    extra = client.put("/internal/agents/key", json={"public_key": "x", "private_key": "y"},
                       headers=headers)  # fmt: skip
    assert extra.status_code == 400


def test_a_creates_root_pass_goes_sealed_to_the_newest_key(client, db, customer, tmp_path):
    _, headers = customer
    old = agent_ring(db, "pool.us-east", tmp_path / "keys")
    first = create_job(client, db, headers)
    assert first.payload["root_pass"]["key_id"] == old.current
    new_id = old.rotate()  # the agent keeps its old private key
    agent_ring_again = KeyRing(tmp_path / "keys")  # the agent, restarted after the rotation
    sealing.register(db, "pool.us-east", {"public_key": agent_ring_again.public_key})
    second = create_job(client, db, headers, {**BODY, "label": "second"})
    assert second.payload["root_pass"]["key_id"] == new_id
    for job in (first, second):  # both open: the ring holds both private keys
        assert opened_secret(agent_ring_again, job.payload, "root_pass") == SECRET
    assert tables_holding(db, SECRET) == set()


def test_another_agents_key_does_not_open_it(client, db, customer, tmp_path):
    _, headers = customer
    agent_ring(db, "pool.us-east", tmp_path / "mine")
    job = create_job(client, db, headers)
    stranger = KeyRing(tmp_path / "other")
    try:
        stranger.open(job.payload)
    except SealedSecretError as exc:
        assert SECRET not in str(exc) and job.payload["root_pass"]["key_id"] in str(exc)
    else:
        raise AssertionError("a key ring without the key opened the secret")
    forged = {**job.payload["root_pass"], "key_id": stranger.current}
    try:
        stranger.open({"root_pass": forged})
    except SealedSecretError as exc:
        assert "does not open" in str(exc)
    else:
        raise AssertionError("a box sealed to another key opened")


def test_without_a_key_the_secret_is_not_sent(client, db, customer, caplog):
    _, headers = customer
    caplog.set_level(logging.WARNING)
    job = create_job(client, db, headers)
    assert "root_pass" not in job.payload and job.payload["unsealed"] == ["root_pass"]
    assert "no key registered for agent pool.us-east" in caplog.text
    assert SECRET not in caplog.text
    assert tables_holding(db, SECRET) == set()


def test_a_create_without_root_pass_has_nothing_to_seal(client, db, customer, tmp_path):
    _, headers = customer
    agent_ring(db, "pool.us-east", tmp_path / "keys")
    body = {k: v for k, v in BODY.items() if k != "root_pass"}
    body["authorized_keys"] = [sshkeys.ed25519()]
    job = create_job(client, db, headers, body)
    assert "root_pass" not in job.payload and "unsealed" not in job.payload


def test_idempotency_never_keeps_the_password(client, db, customer, tmp_path):
    _, headers = customer
    agent_ring(db, "pool.us-east", tmp_path / "keys")
    keyed = {**headers, "Idempotency-Key": "sealed-create-1"}
    first = client.post(URL, json=BODY, headers=keyed)
    again = client.post(URL, json=BODY, headers=keyed)
    assert first.status_code == again.status_code == 200
    assert first.get_json()["id"] == again.get_json()["id"]
    assert "root_pass" in idempotency.SECRET_FIELDS
    assert tables_holding(db, SECRET) == set()


def test_a_private_key_file_is_the_agents_alone(tmp_path):
    ring = KeyRing(tmp_path / "keys")
    path = tmp_path / "keys" / f"{ring.current}.key"
    assert path.stat().st_mode & 0o777 == 0o600
    private = PrivateKey(base64.b64decode(path.read_text()))
    assert base64.b64encode(bytes(private.public_key)).decode() == ring.public_key
    assert KeyRing(tmp_path / "keys").current == ring.current  # loaded, not made again
