"""The `cloudapi` operator command, run as operators run it: a real process."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("cloudapi"))


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


def test_flags_launch_and_rollback_from_the_cli(cli, make_account, client):
    account_id, headers = make_account()
    listing = cli("flags", "list").stdout
    assert re.search(r"^gpu-linodes-launch\s+off ", listing, re.M)
    assert "accountTags STR_CONTAINS ,employee," in listing
    check = cli("flags", "check", "--account", str(account_id)).stdout
    assert "feature gpu-linodes: off" in check and "g1-gpu-rtx6000-1: hidden" in check
    out = cli("flags", "enable", "gpu-linodes-launch", "--actor", "rm@example.com").stdout
    assert out.startswith("gpu-linodes-launch: off -> on")
    assert "feature gpu-linodes: ON" in cli("flags", "check", "--account", str(account_id)).stdout
    cli("flags", "disable", "gpu-linodes-launch", "--actor", "rm@example.com")
    audit = cli("flags", "audit").stdout.splitlines()
    assert "on -> off" in audit[0] and "by rm@example.com" in audit[0]
    assert "off -> on" in audit[1]
    assert cli("flags", "enable", "no-such-flag", ok=False).returncode == 1
    assert "nothing to sync" in cli("flags", "sync", ok=False).stderr


def test_betas_open_and_close_from_the_cli(cli):
    assert re.search(r"^gpu-beta\s+closed", cli("betas", "list").stdout, re.M)
    assert cli("betas", "open", "gpu-beta").stdout.strip() == "gpu-beta: open"
    assert re.search(r"^gpu-beta\s+open", cli("betas", "list").stdout, re.M)
    cli("betas", "close", "gpu-beta")
    assert cli("betas", "close", "no-such-beta", ok=False).returncode == 1


def test_hosts_and_capacity_from_the_cli(cli, tmp_path):
    from cloudapi.services.demo_hosts import describe

    path = tmp_path / "host.json"
    path.write_text(json.dumps(describe("gpu-7.us-east", None)))
    out = cli("hosts", "add", str(path), "--region", "us-east").stdout
    assert out.strip() == "added gpu-7.us-east (us-east): 2 NUMA nodes, 8 GPUs"
    again = cli("hosts", "add", str(path), "--region", "us-east", ok=False)
    assert again.returncode == 1 and "already registered" in again.stderr
    assert re.search(r"^gpu-7.us-east\s+us-east\s+active\s+.*node0:4/4 node1:4/4",
                     cli("hosts", "list").stdout, re.M)  # fmt: skip
    table = cli("capacity").stdout.splitlines()
    assert re.match(r"us-east\s+gpu-7.us-east\s+active\s+8\s+0\s+8\s+8\s+4\s+2\s+2$", table[1])
    cli("hosts", "set-status", "gpu-7.us-east", "maintenance")
    assert re.search(r"gpu-7.us-east\s+maintenance\s+8\s+0\s+8\s+0\s+0\s+0\s+0$",
                     cli("capacity").stdout, re.M)  # fmt: skip
    assert cli("hosts", "set-status", "nope", "active", ok=False).returncode == 1
    assert cli("hosts", "set-status", "gpu-7.us-east", "asleep", ok=False).returncode == 2
    path.write_text("{not json")
    assert "not JSON" in cli("hosts", "add", str(path), ok=False).stderr


def test_hosts_discover_reads_a_sysfs_tree(cli, tmp_path):
    from tests.support.sysfs import FakeSysfs

    root = tmp_path / "root"
    FakeSysfs(root).node(0, cpus="0-3", mem_kb=64 * 1024 * 1024).gpu(
        "0000:3b:00.0", numa=0, group=24, functions=["0000:3b:00.0", "0000:3b:00.1"]
    ).build()
    out = cli("hosts", "discover", "--sysfs", str(root), "--hostname", "h1",
              "--region", "us-east").stdout  # fmt: skip
    found = json.loads(out)
    assert found["hostname"] == "h1" and found["region"] == "us-east"
    assert [g["iommu_functions"] for g in found["gpus"]] == [["0000:3b:00.0", "0000:3b:00.1"]]
    path = tmp_path / "h1.json"
    path.write_text(out)
    assert "1 NUMA nodes, 1 GPUs" in cli("hosts", "add", str(path)).stdout
    missing = cli("hosts", "discover", "--sysfs", str(tmp_path / "nowhere"), ok=False)
    assert missing.returncode == 1 and "Error" in missing.stderr


def test_hosts_drain_migrates_the_hosts_gpu_instances(cli, add_host, employee, client, db):
    from tests.api.test_resize import gpu, last_job, make

    add_host("gpu-1.us-east")
    add_host("gpu-2.us-east")
    _, headers = employee
    linode = make(client, headers, gpu(1), db=db)
    out = cli("hosts", "drain", "gpu-1.us-east").stdout
    assert "gpu-1.us-east: draining; 1 migrating" in out
    job = last_job(db, linode["id"])
    assert (job.action, job.host) == ("migrate", "gpu-2.us-east")
    assert "no host named" in cli("hosts", "drain", "gpu-9.us-east", ok=False).stderr
