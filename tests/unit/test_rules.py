"""Field rules for labels, passwords, tags and user data (SSH keys: test_profile_sshkeys,
test_instance_create_wiring)."""

import base64

import pytest

from cloudapi.domain import rules


@pytest.mark.parametrize("label", ["web", "web-1", "a.b_c-d", "X" * 64, "9lives"])
def test_valid_labels(label):
    assert rules.label_problems(label) == []


@pytest.mark.parametrize(
    ("label", "fragment"),
    [
        ("ab", "Length must be 3-64"),
        ("x" * 65, "Length must be 3-64"),
        ("-web", "begin and end"),
        ("web-", "begin and end"),
        ("we--b", "two dashes"),
        ("we__b", "two dashes"),
        ("we..b", "two dashes"),
        ("web 1", "Must only contain"),
        ("wéb", "Must only contain"),
    ],
)
def test_invalid_labels(label, fragment):
    assert any(fragment in p for p in rules.label_problems(label))


@pytest.mark.parametrize("password", ["password123", "aaaaaaaa", "Password1", "qwertyuiop"])
def test_weak_passwords_rejected(password):
    assert rules.password_problem(password) == "Password does not meet strength requirement"


@pytest.mark.parametrize("password", ["short", "x" * 129])
def test_password_length(password):
    assert rules.password_problem(password) == "Length must be 7-128 characters"


@pytest.mark.parametrize("password", ["Gpu-Demo-2026!", "correct-horse-battery", "Tr0ub4dor&3"])
def test_strong_passwords_accepted(password):
    assert rules.password_problem(password) is None


def test_user_data_limits():
    assert rules.user_data_problem(base64.b64encode(b"#cloud-config\n").decode()) is None
    assert rules.user_data_problem(base64.b64encode(b"x" * 65535).decode()) is None
    assert "at most" in rules.user_data_problem(base64.b64encode(b"x" * 65536).decode())
    assert rules.user_data_problem("not base64!") == "Must be valid base64"


@pytest.mark.parametrize(("tag", "ok"), [("ab", False), ("abc", True), ("x" * 50, True),
                                          ("x" * 51, False)])  # fmt: skip
def test_tag_length(tag, ok):
    assert (rules.tag_problem(tag) is None) is ok
