"""/v4/profile/sshkeys: SSH keys checked as Linode checks them, kept per account, and
resolved for `authorized_users`."""

import pytest

from cloudapi.domain import sshkeys as keys
from cloudapi.errors import Invalid
from cloudapi.services import sshkeys
from tests.support import sshkeys as make_key


def errors(response):
    return [(e.get("field"), e["reason"]) for e in response.get_json()["errors"]]


def test_sshkey_create_list_view_relabel_delete(client, customer):
    _, headers = customer
    key = make_key.ed25519("me@laptop")
    made = client.post("/v4/profile/sshkeys", json={"label": "laptop", "ssh_key": f" {key}\n"},
                       headers=headers)  # fmt: skip
    assert made.status_code == 200
    created = made.get_json()
    assert (created["label"], created["ssh_key"]) == ("laptop", key)
    listed = client.get("/v4/profile/sshkeys", headers=headers).get_json()
    assert listed["data"] == [created] and listed["results"] == 1
    path = f"/v4/profile/sshkeys/{created['id']}"
    assert client.get(path, headers=headers).get_json() == created
    renamed = client.put(path, json={"label": "work"}, headers=headers).get_json()
    assert renamed == {**created, "label": "work"}
    assert errors(client.put(path, json={"ssh_key": key}, headers=headers))[0][0] == "ssh_key"
    assert client.delete(path, headers=headers).get_json() == {}
    assert client.get(path, headers=headers).status_code == 404


@pytest.mark.parametrize("maker", [make_key.rsa, make_key.ecdsa, make_key.ed25519])
def test_each_key_type_is_accepted(client, customer, maker):
    _, headers = customer
    key = maker(comment="")
    made = client.post("/v4/profile/sshkeys", json={"ssh_key": key}, headers=headers)
    assert made.status_code == 200 and made.get_json()["ssh_key"] == key


ED = make_key.ed25519().split()


@pytest.mark.parametrize(
    ("ssh_key", "reason"),
    [
        ("", keys.TYPE_PROBLEM),
        ("WrongFormatSshKey", keys.TYPE_PROBLEM),
        ("ssh-foo AAAAB3NzaC1yc2E=", keys.TYPE_PROBLEM),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END", keys.TYPE_PROBLEM),
        ("ssh-ed25519", keys.DATA_PROBLEM),
        ("ssh-ed25519 not*base64", keys.DATA_PROBLEM),
        (f"ssh-rsa {ED[1]}", keys.MISMATCH_PROBLEM),
        (f"ssh-ed25519 {ED[1][:-8]}", keys.MISMATCH_PROBLEM),
        (make_key.line("ssh-ed25519", b"short"), keys.MISMATCH_PROBLEM),
        (make_key.line("ecdsa-sha2-nistp256", b"nistp384", b"\x04" * 97), keys.MISMATCH_PROBLEM),
        (f"ssh-ed25519 {ED[1]} evil\x01comment", keys.LINE_PROBLEM),
        (f"ssh-ed25519 {ED[1]} evil\x00comment", "Must not contain NUL characters"),
        (f"ssh-ed25519 {ED[1]} a\nssh-ed25519 {ED[1]} b", keys.LINE_PROBLEM),
        ("ssh-ed25519 " + "A" * 20000, f"SSH Key must be at most {keys.MAX_KEY_CHARS} characters"),
    ],
)
def test_bad_keys_are_400_in_linodes_words(client, customer, ssh_key, reason):
    _, headers = customer
    refused = client.post("/v4/profile/sshkeys", json={"ssh_key": ssh_key}, headers=headers)
    assert refused.status_code == 400 and errors(refused) == [("ssh_key", reason)]
    assert client.get("/v4/profile/sshkeys", headers=headers).get_json()["results"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "ssh_key"), ({"ssh_key": 7}, "ssh_key"), ({"ssh_key": make_key.rsa(), "label": "x" * 65},
     "label"), ({"ssh_key": make_key.rsa(), "label": "\x00"}, "label")],
)  # fmt: skip
def test_bad_key_bodies_name_the_field(client, customer, body, field):
    _, headers = customer
    refused = client.post("/v4/profile/sshkeys", json=body, headers=headers)
    assert refused.status_code == 400 and [f for f, _ in errors(refused)] == [field]


def test_other_accounts_keys_are_404(client, make_account):
    _, mine = make_account()
    _, theirs = make_account()
    made = client.post("/v4/profile/sshkeys", json={"ssh_key": make_key.rsa()}, headers=mine)
    path = f"/v4/profile/sshkeys/{made.get_json()['id']}"
    assert client.get(path, headers=theirs).status_code == 404
    assert client.put(path, json={"label": "x"}, headers=theirs).status_code == 404
    assert client.delete(path, headers=theirs).status_code == 404
    assert client.get("/v4/profile/sshkeys", headers=theirs).get_json()["data"] == []
    assert client.get("/v4/profile/sshkeys/2147483648", headers=mine).status_code == 404


def test_keys_for_users_resolves_the_accounts_user(client, make_account, db):
    account_id, headers = make_account()
    other_id, _ = make_account()
    first, second = make_key.rsa(), make_key.ed25519()
    for key in (first, second):
        client.post("/v4/profile/sshkeys", json={"ssh_key": key}, headers=headers)
    username = client.get("/v4/profile", headers=headers).get_json()["username"]
    with db.reader() as session:
        assert sshkeys.keys_for_users(session, account_id, []) == []
        assert sshkeys.keys_for_users(session, account_id, [username, username]) == [first, second]
        assert sshkeys.keys_for_users(session, other_id, None) == []
        for wrong in (["nobody"], [username, "nobody"]):
            with pytest.raises(Invalid) as refused:
                sshkeys.keys_for_users(session, account_id, wrong)
            assert refused.value.errors == [
                {"field": "authorized_users", "reason": "Username nobody not found"}
            ]
        with pytest.raises(Invalid):  # another account's user is not this account's
            sshkeys.keys_for_users(session, other_id, [username])
