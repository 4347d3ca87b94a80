"""The app under gunicorn in a subprocess, as it runs in production: for tests and bench/.

Tests start `cloudapi serve`, the production command line, access log included. The HTTP
benchmark (bench/servers.py) starts an app spec of its choice with its own --threads and
warnings-only logs (`app=`): an access-log line per request would be part of what it
measures. Both need the same care, kept here once: a free port, a wait until the server
answers, and the whole process group killed at the end (also when gunicorn failed to
boot), so that no worker outlives a test or a benchmark.
"""

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.unleash import free_port

CLOUDAPI = str(Path(sys.executable).with_name("cloudapi"))


class GunicornFailed(AssertionError):
    """gunicorn exited or never answered: an AssertionError, so a test using it fails."""


class Gunicorn:
    """One gunicorn in its own process group, serving from `with` until the block ends.

    With app=None it runs `cloudapi serve`; with app="module:factory()" it runs
    `python -m gunicorn` on that spec, with `threads`, `pythonpath` and warnings-only
    logging. It is ready once `ready_path` answers 200; `name` labels its errors.
    """

    def __init__(
        self,
        env,
        workers=2,
        log_path=None,
        *,
        app=None,
        threads=None,
        pythonpath=None,
        cwd=None,
        ready_path="/v4/regions",
        name="gunicorn",
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.workers = workers
        self.log_path = log_path
        self.app, self.threads, self.pythonpath = app, threads, pythonpath
        self.cwd, self.ready_path, self.name = cwd, ready_path, name
        self.proc = None
        self._log = None

    def command(self):
        """The command line: `cloudapi serve`, or gunicorn itself on `app`."""
        if self.app is None:
            cmd = [CLOUDAPI, "serve", "--port", str(self.port), "--workers", str(self.workers)]
            return cmd + (["--threads", str(self.threads)] if self.threads else [])
        cmd = [sys.executable, "-m", "gunicorn", self.app, "--bind", self.host,
               "--workers", str(self.workers), "--threads", str(self.threads or 1),
               "--error-logfile", "-", "--log-level", "warning"]  # fmt: skip
        return cmd + (["--pythonpath", str(self.pythonpath)] if self.pythonpath else [])

    def __enter__(self):
        self._log = open(self.log_path, "wb") if self.log_path else None
        self.proc = subprocess.Popen(
            self.command(), cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers die with it
        )  # fmt: skip
        try:
            self._wait_ready(timeout=60)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self, timeout):
        """Poll `ready_path` until it answers 200; fail at once if gunicorn exits."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            self.check_alive()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                conn.request("GET", self.ready_path)
                status = conn.getresponse().status
                if status == 200:
                    return
                last = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                last = repr(exc)
            finally:
                conn.close()
            time.sleep(0.1)
        raise GunicornFailed(f"{self.name} did not answer within {timeout} s ({last})"
                             f"{self._log_note()}")  # fmt: skip

    def check_alive(self):
        """Raise GunicornFailed, with the end of its log, if gunicorn has exited."""
        if self.proc.poll() is not None:
            raise GunicornFailed(f"{self.name} exited with {self.proc.returncode}"
                                 f"{self._log_note()}")  # fmt: skip

    def log_tail(self, chars=4000):
        """The last `chars` characters of the log ("" without one): for error messages."""
        try:
            return Path(self.log_path).read_text(errors="replace")[-chars:]
        except (OSError, TypeError):
            return ""

    def _log_note(self):
        return f"; its log, {self.log_path}:\n{self.log_tail()}" if self.log_path else ""

    def __exit__(self, *exc):
        """Stop the group (SIGTERM, then SIGKILL for what is left) and close the log.

        Safe when gunicorn never booted, already exited (its group is gone: killpg raises
        ProcessLookupError) or was stopped before: the log is closed whatever happens.
        """
        try:
            if self.proc is not None:
                if self.proc.poll() is None:
                    _killpg(self.proc.pid, signal.SIGTERM)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.proc.wait(timeout=15)
                # Workers share the group: make sure none outlives the arbiter.
                _killpg(self.proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
        finally:
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


def _killpg(pgid, signum):
    """Signal a process group that may be gone already (ESRCH; EPERM for a zombie on BSDs)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
