"""The app under gunicorn (`cloudapi serve`) in a subprocess, as it runs in production."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.unleash import free_port

CLOUDAPI = str(Path(sys.executable).with_name("cloudapi"))


class Gunicorn:
    def __init__(self, env, workers=2, log_path=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.workers = workers
        self.log_path = log_path
        self.proc = None

    def __enter__(self):
        self._log = open(self.log_path, "w") if self.log_path else None  # noqa: SIM115
        self.proc = subprocess.Popen(
            [CLOUDAPI, "serve", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env, stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            self._wait_ready(timeout=60)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"gunicorn exited: see {self.log_path}"
            try:
                if requests.get(f"{self.url}/v4/regions", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer within {timeout} s")

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self._log:
            self._log.close()

    def get(self, path, token=None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(f"{self.url}{path}", headers=headers, timeout=10, **kwargs)

    def post(self, path, token, body):
        headers = {"Authorization": f"Bearer {token}"}
        return requests.post(f"{self.url}{path}", json=body, headers=headers, timeout=10)

    def delete(self, path, token):
        headers = {"Authorization": f"Bearer {token}"}
        return requests.delete(f"{self.url}{path}", headers=headers, timeout=10)
