"""Redis for rate-limit tests: the real server, a key prefix of its own per test.

``redis_limits`` checks Redis at ``CLOUDAPI_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/15``), else skips through ``missing_service`` (a failure under
CLOUDAPI_REQUIRE_SERVICES=1). It yields the config that points an app (or, as environment
variables, a gunicorn) at that Redis under a prefix no other test or run uses, and deletes
the prefix's keys afterwards. ``GUNICORN_LOG_PIDS`` makes gunicorn's access log start with
the worker's pid, so a test can tell which workers answered.
"""

import os
import uuid
from contextlib import contextmanager

import pytest

from tests.support.databases import missing_service

DEFAULT_URL = "redis://127.0.0.1:6379/15"
GUNICORN_LOG_PIDS = {"GUNICORN_CMD_ARGS": "--access-logformat='pid=%(p)s %(r)s %(s)s'"}


def redis_url():
    return os.environ.get("CLOUDAPI_TEST_REDIS_URL", DEFAULT_URL)


def _client(url):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


@contextmanager
def redis_namespace():
    """Yield the config for a prefix of our own on the test Redis; delete its keys after."""
    url = redis_url()
    client = _client(url)
    try:
        client.ping()
    except Exception as exc:
        client.close()
        missing_service(f"Redis not reachable at {url}: {type(exc).__name__}")
    prefix = f"cloudapi-test-{uuid.uuid4().hex[:12]}"
    try:
        yield {"RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": prefix}
    finally:
        for key in client.scan_iter(match=f"*{prefix}*", count=500):
            client.delete(key)
        client.close()


@pytest.fixture
def redis_limits():
    """The fixture form of :func:`redis_namespace` (import it into a test module)."""
    with redis_namespace() as config:
        yield config


def worker_pids(log_path, marker):
    """The gunicorn worker pids whose access-log lines contain `marker`."""
    pids = set()
    for line in log_path.read_text().splitlines():
        if line.startswith("pid=") and marker in line:
            pids.add(line.split()[0].removeprefix("pid="))
    return pids
