"""Rate limits are exact across gunicorn workers and across API servers sharing one Redis.

Two servers (4 workers each) on different ports share the test's Redis key prefix. Each
request opens a fresh connection, alternating servers, so every worker of both answers.
Failed authentication is counted per client address: requests come from distinct loopback
source addresses (127.0.0.x), so one address being blocked says nothing about another.
"""

import http.client
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.gunicorn import Gunicorn
from tests.support.redis_store import GUNICORN_LOG_PIDS, redis_namespace, worker_pids

# Rate limits don't depend on the database: run on PostgreSQL, the production backend.
pytestmark = [pytest.mark.slow,
              pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]  # fmt: skip

LIMITS = {"RATE_LIMIT": "20/60", "RATE_LIMIT_CREATE": "10/30", "RATE_LIMIT_AUTH_FAILURES": "10/60"}
BODY = {"type": "g6-nanode-1", "region": "us-east"}


def send(server, method, path, token=None, body=None, source="127.0.0.1"):
    """One request on a new connection from `source`; return (status, headers, json)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30,
                                      source_address=(source, 0))  # fmt: skip
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or "{}")
    finally:
        conn.close()


def start_together(servers):
    """Enter every Gunicorn at once (each start is mostly waiting); raise the first failure."""
    with ThreadPoolExecutor(len(servers)) as pool:
        started = [pool.submit(g.__enter__) for g in servers]
    failures = [f.exception() for f in started if f.exception() is not None]
    for g, f in zip(servers, started, strict=True):
        if failures and f.exception() is None:
            g.__exit__(None, None, None)
    if failures:
        raise failures[0]
    return servers


@pytest.fixture(scope="module")
def servers(database_url, tmp_path_factory):
    """Two API servers, 4 workers each, one Redis prefix."""
    logs = tmp_path_factory.mktemp("gunicorn")
    with redis_namespace() as store:
        env = {"DATABASE_URL": database_url, **LIMITS, **store, **GUNICORN_LOG_PIDS}
        made = start_together([Gunicorn(env, workers=4, log_path=logs / f"api-{n}.log")
                               for n in (1, 2)])  # fmt: skip
        try:
            yield made
        finally:
            for g in made:
                g.__exit__(None, None, None)


def _token(headers):
    return headers["Authorization"].split()[1]


def test_the_budget_is_exact_across_workers_and_servers(servers, make_account):
    token = _token(make_account()[1])
    answers = [send(servers[n % 2], "GET", "/v4/linode/instances", token) for n in range(100)]
    statuses = [status for status, _, _ in answers]
    assert statuses.count(200) == 20, f"{statuses.count(200)} answered of 100 (budget 20)"
    assert statuses == [200] * 20 + [429] * 80
    remaining = [int(h["X-RateLimit-Remaining"]) for _, h, _ in answers[:20]]
    assert remaining == list(range(19, -1, -1))
    status, headers, body = answers[-1]
    assert body == {"errors": [{"reason": "Too many requests"}]}
    assert headers["X-RateLimit-Limit"] == "20" and 1 <= int(headers["Retry-After"]) <= 60
    for g in servers:  # several workers of both servers answered (the kernel spreads the
        # connections; on a busy machine one worker may get none, so not "all four")
        assert len(worker_pids(g.log_path, "/v4/linode/instances")) >= 2


def test_creates_are_exact_across_workers_and_servers(servers, make_account):
    token = _token(make_account()[1])

    def create(n):
        return send(servers[n % 2], "POST", "/v4/linode/instances", token, BODY)[0]

    with ThreadPoolExecutor(8) as pool:  # concurrent: the shared counter is atomic
        statuses = list(pool.map(create, range(40)))
    assert statuses.count(200) == 10, f"{statuses.count(200)} creates of 40 (budget 10)"
    assert statuses.count(429) == 30


def test_failed_authentication_is_limited_per_address(servers, make_account):
    token = _token(make_account()[1])
    guesses = [send(servers[n % 2], "GET", "/v4/profile", f"guess-{n:04d}" * 4,
                    source="127.0.0.2")[0] for n in range(100)]  # fmt: skip
    assert guesses.count(429) == 90, f"{guesses.count(429)} x 429 of 100 bad tokens"
    assert guesses == [401] * 10 + [429] * 90
    # Blocked: that address, whatever token it sends; not another address.
    status, headers, body = send(servers[0], "GET", "/v4/profile", "new-guess", source="127.0.0.2")
    assert status == 429 and body == {"errors": [{"reason": "Too many requests"}]}
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert send(servers[1], "GET", "/v4/profile", token, source="127.0.0.3")[0] == 200
    assert send(servers[1], "GET", "/v4/regions", source="127.0.0.2")[0] == 200  # no token
