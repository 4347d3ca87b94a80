"""A real Unleash server (npm unleash-server, started by bin/unleash-server) for tests.

    with UnleashServer(run_dir=tmp_path) as server:
        server.admin("POST", "/projects/default/features", json={"name": "x"})
        server.client_features()

Each server gets its own port and a fresh PostgreSQL database `unleash_<port>`, dropped on
stop. A missing node/npm/psql/PostgreSQL, or a failed install or start, goes through
`databases.missing_service`: the test skips, or fails under CLOUDAPI_REQUIRE_SERVICES=1.
"""

import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.engine import make_url
from UnleashClient.cache import BaseCache

from tests.support import databases

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bin" / "unleash-server"
ADMIN_TOKEN = "*:*.unleash-insecure-admin-api-token"
CLIENT_TOKEN = "default:development.unleash-insecure-api-token"
PORT_IN_USE = 4  # bin/unleash-server's exit status when the port is taken
START_TIMEOUT = 600  # seconds, for `start`: a cold `npm ci` is included (about 40 s here)
HTTP_TIMEOUT = 10


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_env():
    """PG* variables for the script: the caller's, else those of the tests' own PostgreSQL."""
    if any(name in os.environ for name in ("PGHOST", "PGPORT", "PGUSER")):
        return {}
    url = make_url(databases.admin_url())
    env = {"PGHOST": url.host or "127.0.0.1", "PGPORT": str(url.port or 5432),
           "PGUSER": url.username or "postgres"}  # fmt: skip
    if url.password:
        env["PGPASSWORD"] = url.password
    return env


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


class MemoryCache(BaseCache):
    """An in-memory cache for UnleashClient, so SDK clients in tests write no files."""

    def __init__(self):
        self._data = {}

    def set(self, key, value):
        self._data[key] = value

    def mset(self, data):
        self._data.update(data)

    def get(self, key, default=None):
        return self._data.get(key, default)

    def exists(self, key):
        return key in self._data

    def destroy(self):
        self._data.clear()


class UnleashServer:
    """Start and stop a real Unleash server through bin/unleash-server.

    Attributes: `port`, `base` (http://127.0.0.1:PORT), `url` (…/api, what SDKs take),
    `admin_token`, `client_token` (scoped to project default, environment development).
    """

    def __init__(self, run_dir, port=None, admin_token=ADMIN_TOKEN, client_token=CLIENT_TOKEN):
        self.run_dir = Path(run_dir)
        self._pick_port = port is None
        self.port = port or free_port()
        self.admin_token = admin_token
        self.client_token = client_token
        self.started = False

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"{self.base}/api"

    def _run(self, *args, timeout):
        env = {**os.environ, **_postgres_env(), "UNLEASH_ADMIN_TOKEN": self.admin_token,
               "UNLEASH_CLIENT_TOKEN": self.client_token,
               # the server stops by itself if this test process dies without stopping it
               "UNLEASH_WATCH_PID": str(os.getpid())}  # fmt: skip
        return subprocess.run(
            [str(SCRIPT), *args, "--port", str(self.port), "--dir", str(self.run_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self):
        for tool in ("node", "npm", "psql"):
            if shutil.which(tool) is None:
                databases.missing_service(f"Unleash server: `{tool}` not found on PATH")
        for _attempt in range(3):
            try:
                result = self._run("start", timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.stop(check=False)
                databases.missing_service(
                    f"Unleash server: bin/unleash-server start ran over {START_TIMEOUT} s"
                )
            lost = result.returncode != 0 and self._lost_port()
            if self._pick_port and (result.returncode == PORT_IN_USE or lost):
                if lost:
                    self.stop(check=False)  # its half-made database goes with the port
                self.port = free_port()
                continue
            break
        if result.returncode != 0:
            databases.missing_service(
                f"Unleash server did not start (exit {result.returncode}): "
                f"{_last_line(result.stderr) or _last_line(result.stdout)}"
            )
        if _last_line(result.stdout) != self.url:
            self.stop(check=False)
            raise RuntimeError(f"bin/unleash-server start printed {result.stdout!r}")
        self.started = True
        return self

    def _lost_port(self):
        """Whether the server died because another process took the port between the
        script's check and the server's listen (two test processes pick ports at once)."""
        log = self.run_dir / "unleash.log"
        return log.is_file() and "EADDRINUSE" in log.read_text(errors="replace")

    def stop(self, check=True):
        """Stop the server and drop its database (safe to call twice)."""
        result = self._run("stop", timeout=60)
        self.started = False
        if check and result.returncode != 0:
            raise RuntimeError(f"bin/unleash-server stop failed: {result.stderr.strip()}")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- HTTP helpers ------------------------------------------------------------------------

    def health(self):
        response = requests.get(f"{self.base}/health", timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def admin(self, method, path, json=None, **kwargs) -> requests.Response:
        """Call the admin API with the admin token; `path` is relative to /api/admin."""
        return requests.request(
            method,
            f"{self.url}/admin/{path.lstrip('/')}",
            json=json,
            headers={"Authorization": self.admin_token},
            timeout=HTTP_TIMEOUT,
            **kwargs,
        )

    def client_features(self) -> dict[str, Any]:
        """GET /api/client/features with the client token (what server-side SDKs fetch)."""
        response = requests.get(
            f"{self.url}/client/features",
            headers={"Authorization": self.client_token},
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        return response.json()

    def events(self, **filters) -> list[dict[str, Any]]:
        """The audit log, newest first: GET /api/admin/search/events.

        Filters take Unleash's operator syntax, e.g. feature="IS:my-flag",
        type="IS:feature-environment-enabled"; also project, createdBy, from, to, limit.
        """
        response = self.admin("GET", "/search/events", params=filters)
        response.raise_for_status()
        return response.json()["events"]

    def sdk_client(self, app_name="cloudapi-test", **overrides):
        """An UnleashClient for this server (not yet initialized): refreshes every second,
        no metrics or registration, an in-memory cache; `overrides` go to UnleashClient."""
        from UnleashClient import UnleashClient
        from UnleashClient.utils import InstanceAllowType

        options = {
            "url": self.url,
            "app_name": app_name,
            "custom_headers": {"Authorization": self.client_token},
            "refresh_interval": 1,
            "disable_metrics": True,
            "disable_registration": True,
            "cache": MemoryCache(),
            "multiple_instance_mode": InstanceAllowType.SILENTLY_ALLOW,
            **overrides,
        }
        return UnleashClient(**options)
