"""The `cloudapi` operator command, run as operators run it: a real process."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("cloudapi"))


@pytest.fixture
def cli(app):
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"]}

    def run(*args, ok=True):
        proc = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def test_db_upgrade_on_a_fresh_database(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite'}"}
    proc = subprocess.run([CLI, "db", "upgrade"], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "database at head" in proc.stdout


def test_accounts_and_tokens(cli, client):
    account_id = cli("accounts", "create", "--email", "ops@example.com", "--tag", "beta").stdout
    account_id = int(account_id)
    assert "employee" in cli("accounts", "tag", str(account_id), "employee").stdout
    assert "employee" not in cli("accounts", "untag", str(account_id), "employee").stdout
    listing = cli("accounts", "list").stdout
    assert re.search(rf"^{account_id}\tops@example.com\tbeta$", listing, re.M)
    token = cli("tokens", "create", "--account", str(account_id), "--scopes",
                "linodes:read_only").stdout.strip()  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v4/linode/instances", headers=headers).status_code == 200
    assert client.get("/v4/account/events", headers=headers).status_code == 401
    admin = cli("tokens", "create", "--admin").stdout.strip()
    assert (
        client.get("/admin/accounts", headers={"Authorization": f"Bearer {admin}"}).status_code
        == 200
    )


@pytest.mark.parametrize(
    "args",
    [
        ("accounts", "create", "--email", "not-an-email"),
        ("accounts", "create"),
        ("accounts", "tag", "999999", "employee"),
        ("accounts", "tag", "abc", "employee"),
        ("tokens", "create"),
        ("tokens", "create", "--admin", "--account", "1"),
        ("tokens", "create", "--account", "999999"),
        ("serve", "--port", "0"),
        ("nonsense",),
    ],
)
def test_bad_arguments_fail_clearly(cli, args):
    proc = cli(*args, ok=False)
    assert proc.returncode != 0
    assert "Error" in proc.stderr and "Traceback" not in proc.stderr


def test_duplicate_email_is_refused(cli):
    cli("accounts", "create", "--email", "twice@example.com")
    proc = cli("accounts", "create", "--email", "twice@example.com", ok=False)
    assert proc.returncode == 1 and "already exists" in proc.stderr


def test_demo_seeds_working_tokens(cli, client, tmp_path):
    out = tmp_path / "tokens.json"
    cli("demo", "--out", str(out))
    seeded = json.loads(out.read_text())
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    for name in ("customer", "employee"):
        headers = {"Authorization": f"Bearer {seeded['accounts'][name]['token']}"}
        account = client.get("/v4/account", headers=headers).get_json()
        assert account["email"] == seeded["accounts"][name]["email"]
    admin = {"Authorization": f"Bearer {seeded['admin_token']}"}
    accounts = client.get("/admin/accounts", headers=admin).get_json()["data"]
    employee = next(a for a in accounts if a["email"] == "employee@example.com")
    assert employee["tags"] == ["employee"]
    cli("demo", "--out", str(out))  # running it again reuses the accounts
    assert len(client.get("/admin/accounts", headers=admin).get_json()["data"]) == 2
