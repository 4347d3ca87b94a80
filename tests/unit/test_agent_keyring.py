"""The agent opens a job's sealed secrets before it runs it, in memory only."""

import base64

from nacl.public import PublicKey, SealedBox

from cloudapi.agent.consumer import Agent
from cloudapi.agent.keys import KeyRing


def sealed(ring, text):
    box = SealedBox(PublicKey(base64.b64decode(ring.public_key)))
    return {"sealed": base64.b64encode(box.encrypt(text.encode())).decode(), "key_id": ring.current}


class Driver:
    def __init__(self):
        self.seen = []

    def storage(self, action, instance_id, payload):
        self.seen.append(payload)


def agent(tmp_path, ring):
    return Agent("h", "memory://", reporter=None, driver=Driver(), state_dir=tmp_path / "s",
                 keyring=ring)  # fmt: skip


def job(payload):
    return {"job_id": "j1", "action": "password_reset", "instance_id": 7, "payload": payload}


def test_the_driver_gets_the_opened_secret_and_the_message_keeps_it_sealed(tmp_path):
    ring = KeyRing(tmp_path / "keys")
    runner = agent(tmp_path, ring)
    message = job({"disk_id": 3, "password": sealed(ring, "Opened-2026!x")})
    assert runner.execute(message) == ("finished", None)
    assert runner.driver.seen == [{"disk_id": 3, "password": "Opened-2026!x"}]
    assert message["payload"]["password"]["key_id"] == ring.current  # not opened in place


def test_a_key_rotated_by_another_process_opens_and_old_keys_still_do(tmp_path):
    ring = KeyRing(tmp_path / "keys")
    runner = agent(tmp_path, ring)
    old = sealed(ring, "Old-2026!x")
    other = KeyRing(tmp_path / "keys")  # `cloudapi agent-keys rotate`, elsewhere
    other.rotate()
    new = sealed(other, "New-2026!x")
    assert runner.execute(job({"password": old}))[0] == "finished"
    assert runner.execute(job({"password": new}))[0] == "finished"
    assert [p["password"] for p in runner.driver.seen] == ["Old-2026!x", "New-2026!x"]


def test_a_secret_for_another_key_fails_the_job_without_the_secret(tmp_path):
    theirs = KeyRing(tmp_path / "theirs")
    runner = agent(tmp_path, KeyRing(tmp_path / "mine"))
    status, why = runner.execute(job({"password": sealed(theirs, "Theirs-2026!x")}))
    assert status == "failed" and theirs.current in why and "Theirs-2026!x" not in why
    assert runner.driver.seen == []


def test_an_agent_without_a_key_ring_passes_payloads_through(tmp_path):
    runner = Agent("h", "memory://", None, Driver(), tmp_path / "s")
    assert runner.execute(job({"password": "plain"}))[0] == "finished"
    assert runner.driver.seen == [{"password": "plain"}]
