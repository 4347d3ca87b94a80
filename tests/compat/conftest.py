"""Shared helpers for the client-compatibility tests: the official clients, unmodified,
talking to the app served on a loopback port (see docs/reference/linode-api.md, sections 8-11)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from linode_api4 import LinodeClient

TYPE_KEYS = {
    "id", "label", "class", "disk", "memory", "vcpus", "gpus", "accelerated_devices",
    "network_out", "transfer", "price", "region_prices", "addons", "successor",
}  # fmt: skip
STANDARD_TYPE_IDS = {"g6-nanode-1", "g6-standard-2", "g6-dedicated-2", "g6-dedicated-4"}
GPU_PREFIX = "g1-gpu-"
STRONG_PASSWORD = "Gpu-Demo-2026!x"
CLI_TIMEOUT = 60


def token_of(headers):
    return headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def make_token(make_account):
    """Return a fresh account's bearer token (with `scopes`)."""

    def make(scopes="*", tags=()):
        _, headers = make_account(tags=tags, scopes=scopes)
        return token_of(headers)

    return make


@pytest.fixture
def sdk(live_server):
    """Build linode_api4 clients for the live server; their sessions are closed afterwards."""
    made = []

    def make(token, **kwargs):
        client = LinodeClient(token, base_url=f"{live_server.url}/v4", retry=False, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.session.close()


def _cli_command():
    script = Path(sys.executable).with_name("linode-cli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "linodecli"]


@pytest.fixture
def cli(live_server, tmp_path):
    """Run the real linode-cli against the live server; return the CompletedProcess."""
    home = tmp_path / "cli-home"
    home.mkdir()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("LINODE_")}

    def run(token, *args):
        env = {
            **base_env,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "LINODE_CLI_TOKEN": token,
            "LINODE_CLI_API_HOST": live_server.host,
            "LINODE_CLI_API_SCHEME": "http",
            "LINODE_CLI_API_VERSION": "v4",
            "LINODE_CLI_CONFIG": str(home / "linode-cli"),
        }
        return subprocess.run(
            [*_cli_command(), *args, "--no-defaults", "--suppress-warnings", "--json"],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )

    return run


def cli_json(result):
    """The JSON a successful linode-cli run printed on stdout."""
    assert result.returncode == 0, f"exit {result.returncode}\nstderr: {result.stderr}"
    return json.loads(result.stdout)


def cli_errors(result):
    """The error list a failed linode-cli --json run printed after 'Request failed: N'."""
    for line in result.stderr.splitlines():
        if line.startswith("["):
            return json.loads(line)
    raise AssertionError(f"no JSON error list on stderr: {result.stderr!r}")
