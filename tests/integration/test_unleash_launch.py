"""The launch against a real Unleash server: sync, same answers, flip, rollback, outage."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cloudapi.flagging import definitions
from cloudapi.flagging.caches import BootstrapCache
from cloudapi.flagging.context import context_for
from cloudapi.principal import Principal
from tests.support.gunicorn import Gunicorn
from tests.support.unleash import UnleashServer

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("cloudapi"))
LINODE_CLI = str(Path(sys.executable).with_name("linode-cli"))
GPU_IDS = {f"g1-gpu-rtx6000-{n}" for n in range(1, 5)}
LAUNCH = "gpu-linodes-launch"
EARLY_ACCESS = "gpu-linodes-early-access"
REFRESH = 1  # seconds: the app's UNLEASH_REFRESH_INTERVAL in these tests


def token_of(headers):
    return headers["Authorization"].split()[1]


def principal(account_id=None, tags=(), betas=()):
    return Principal(0, account_id, "u", "", tuple(tags), tuple(betas), frozenset(), False)


def flags_env(server, database_url):
    return {
        "DATABASE_URL": database_url,
        "UNLEASH_URL": server.url,
        "UNLEASH_API_TOKEN": server.client_token,
        "UNLEASH_ADMIN_TOKEN": server.admin_token,
        "UNLEASH_REFRESH_INTERVAL": str(REFRESH),
        "UNLEASH_DISABLE_METRICS": "1",
    }


def cloudapi(env, *args):
    proc = subprocess.run([CLI, *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def wait_served(server, name, enabled, timeout=15):
    """Wait until the server's client API serves `name` in state `enabled` (it caches ~1 s)."""
    deadline = time.monotonic() + timeout
    while definitions.by_name(server.client_features()).get(name, {}).get("enabled") != enabled:
        assert time.monotonic() < deadline, f"{name} never served as enabled={enabled}"
        time.sleep(0.2)


def toggle(server, name, enabled):
    state = "on" if enabled else "off"
    server.admin("POST", f"/projects/default/features/{name}/environments/development/{state}")
    wait_served(server, name, enabled)


@pytest.fixture
def synced(unleash_server, app):
    """The session's server with flags/ pushed to it, the launch flag off."""
    env = flags_env(unleash_server, app.config["DATABASE_URL"])
    cloudapi(env, "flags", "sync")
    toggle(unleash_server, LAUNCH, False)
    wait_served(unleash_server, EARLY_ACCESS, True)
    return env


def test_sync_creates_what_is_missing_and_flips_nothing(unleash_server, synced):
    env = synced
    assert cloudapi(env, "flags", "sync").strip() == "in sync"
    served = definitions.by_name(unleash_server.client_features())
    wanted = definitions.by_name(definitions.load())
    assert set(wanted) <= set(served)
    assert served[EARLY_ACCESS]["enabled"] is True
    assert len(served[EARLY_ACCESS]["strategies"]) == 2
    # Turned on by hand on the server, a flag stays on through another sync.
    toggle(unleash_server, LAUNCH, True)
    cloudapi(env, "flags", "sync")
    assert definitions.by_name(unleash_server.client_features())[LAUNCH]["enabled"] is True
    listing = cloudapi(env, "flags", "list")
    assert f"{LAUNCH}" in listing and "[development, unleash]" in listing


@pytest.mark.parametrize("launched", [False, True])
def test_server_and_bootstrap_answer_the_same(unleash_server, synced, launched):
    toggle(unleash_server, LAUNCH, launched)
    remote = unleash_server.sdk_client()
    remote.initialize_client()
    # Its first fetch may be the server's previous (cached, ~1 s) revision: wait it out.
    deadline = time.monotonic() + 10
    while remote.is_enabled(LAUNCH, context_for(None)) is not launched:
        assert time.monotonic() < deadline, "the SDK never saw the launch flag's state"
        time.sleep(0.2)
    doc = definitions.with_states(definitions.load(), {LAUNCH: launched})
    local = unleash_server.sdk_client(cache=BootstrapCache(doc), url="http://unleash.invalid/api")
    try:
        contexts = {
            "employee": principal(1, tags=("employee",)),
            "beta": principal(2, betas=("gpu-beta",)),
            "customer": principal(3, tags=("ex-employee",)),
            "anonymous": None,
        }
        for who, p in contexts.items():
            for flag in (LAUNCH, EARLY_ACCESS):
                ctx = context_for(p)
                assert remote.is_enabled(flag, ctx) == local.is_enabled(flag, ctx), (who, flag)
        assert remote.is_enabled(LAUNCH, context_for(None)) is launched
    finally:
        remote.destroy()
        local.destroy()


def _gpu_types(server, token):
    response = server.get("/v4/linode/types", token)
    assert response.status_code == 200
    return {t["id"] for t in response.json()["data"]} & GPU_IDS


def _linode_cli_gpu_types(server, token, home):
    env = {**os.environ, "HOME": str(home), "LINODE_CLI_TOKEN": token,
           "LINODE_CLI_API_HOST": server.host, "LINODE_CLI_API_SCHEME": "http",
           "LINODE_CLI_API_VERSION": "v4", "LINODE_CLI_CONFIG": str(home / "cli")}  # fmt: skip
    proc = subprocess.run(
        [LINODE_CLI, "linodes", "types", "--json", "--no-defaults", "--suppress-warnings"],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return {t["id"] for t in json.loads(proc.stdout)} & GPU_IDS


def _wait_visible(server, token, expected, timeout):
    """Seconds until 20 requests in a row (spread over the workers) all show `expected`."""
    start, streak = time.monotonic(), 0
    while streak < 20:
        assert time.monotonic() - start < timeout, f"not {expected} within {timeout} s"
        streak = streak + 1 if _gpu_types(server, token) == expected else 0
        if streak == 1:
            first = time.monotonic() - start
        if streak == 0:
            time.sleep(0.05)
    return first


@pytest.mark.usefixtures("gpu_hosts")
def test_launch_and_rollback_on_a_running_gunicorn(synced, make_account, tmp_path, capsys):
    env = synced
    _, customer = make_account()
    _, employee = make_account(tags=("employee",))
    customer, employee = token_of(customer), token_of(employee)
    with Gunicorn(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        pid = server.proc.pid
        assert _gpu_types(server, customer) == set()
        assert _gpu_types(server, employee) == GPU_IDS
        assert _linode_cli_gpu_types(server, customer, tmp_path) == set()

        cloudapi(env, "flags", "enable", LAUNCH, "--actor", "release-manager@example.com")
        launch = _wait_visible(server, customer, GPU_IDS, timeout=REFRESH + 2)
        assert _linode_cli_gpu_types(server, customer, tmp_path) == GPU_IDS
        body = {"type": "g1-gpu-rtx6000-1", "region": "us-east", "image": "linode/debian12",
                "root_pass": "Gpu-Demo-2026!x"}  # fmt: skip
        created = server.post("/v4/linode/instances", customer, body)
        assert created.status_code == 200 and created.json()["specs"]["gpus"] == 1

        cloudapi(env, "flags", "disable", LAUNCH, "--actor", "release-manager@example.com")
        rollback = _wait_visible(server, customer, set(), timeout=REFRESH + 2)
        assert _gpu_types(server, employee) == GPU_IDS
        linode = server.get(f"/v4/linode/instances/{created.json()['id']}", customer)
        assert linode.status_code == 200  # the customer's GPU instance survives the rollback
        assert server.proc.pid == pid and server.proc.poll() is None  # never restarted
    with capsys.disabled():
        print(f"\n[flip-to-visible] launch {launch:.2f} s, rollback {rollback:.2f} s "
              f"(refresh interval {REFRESH} s, gunicorn 2 workers)")  # fmt: skip
    audit = cloudapi(env, "flags", "audit").splitlines()
    assert "by release-manager@example.com" in audit[0] and "on -> off" in audit[0]


def test_an_outage_keeps_the_last_known_flags(app, make_account, tmp_path):
    """Its own server, stopped mid-run: the API keeps answering from what it last fetched."""
    _, customer = make_account()
    token = token_of(customer)
    with UnleashServer(run_dir=tmp_path / "unleash") as unleash:
        env = flags_env(unleash, app.config["DATABASE_URL"])
        cloudapi(env, "flags", "sync")
        cloudapi(env, "flags", "enable", LAUNCH)
        # One worker, so the worker that answers is the one that saw the server (with two,
        # a worker still starting up could miss the server and rightly serve flags/).
        with Gunicorn(env, workers=1, log_path=tmp_path / "gunicorn.log") as server:
            _wait_visible(server, token, GPU_IDS, timeout=REFRESH + 2)
            unleash.stop()
            time.sleep(REFRESH * 3)  # several failed polls
            for _ in range(20):
                assert _gpu_types(server, token) == GPU_IDS


def test_start_up_is_not_held_by_a_hanging_server(app, tmp_path):
    """A server that accepts connections and never answers: the app still starts at once."""
    import socket

    with socket.socket() as hanging:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(16)
        url = f"http://127.0.0.1:{hanging.getsockname()[1]}/api"
        env = {"DATABASE_URL": app.config["DATABASE_URL"], "UNLEASH_URL": url,
               "UNLEASH_API_TOKEN": "default:development.x"}  # fmt: skip
        started = time.monotonic()
        with Gunicorn(env, workers=1, log_path=tmp_path / "gunicorn.log") as server:
            ready = time.monotonic() - started
            assert server.get("/v4/linode/types").status_code == 200
    assert ready < 10  # gunicorn boot included; the flag client itself never blocks it
