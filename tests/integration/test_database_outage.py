"""PostgreSQL goes away under a running gunicorn: quick 503s, the catalog still answers.

The app (4 workers) reaches PostgreSQL through a TCP proxy (tests/support/tcpproxy.py)
that the test closes (connection refused), blackholes (connections accepted, nothing
answered, open connections frozen) and restores. Small timeouts come from the
environment, as an operator would set them.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.engine import make_url

from cloudapi.db import Database
from cloudapi.db.outage import FAIL_FAST_SECONDS, is_unavailable
from cloudapi.services import accounts, tokens
from tests.support import databases
from tests.support.gunicorn import Gunicorn
from tests.support.tcpproxy import TcpProxy

pytestmark = pytest.mark.slow

TIMEOUTS = {"DATABASE_CONNECT_TIMEOUT": "2", "DATABASE_STATEMENT_TIMEOUT": "2",
            "DATABASE_POOL_TIMEOUT": "2"}  # fmt: skip
BOUND = 10.0  # seconds: an answer during the outage, whatever it is, comes within this
WORKERS = 4
SERVED_REGIONS = re.compile(r'pid=<?(\d+)>? "GET /v4/regions[^"]*" 200')  # in the access log
CONCURRENT = 32  # DB-bound requests at once: twice the 4 workers x 4 threads


@pytest.fixture
def postgres():
    """A migrated throwaway PostgreSQL database and a customer token on it."""
    with databases.postgres_database() as url:
        databases.migrate(url)
        database = Database(url)
        try:
            with database.transaction() as session:
                account = accounts.create(session, "outage@example.com", ())
                token = tokens.create(session, account_id=account.id, scopes="*")
        finally:
            database.dispose()
        yield url, token


def timed_get(server, path, token=None, timeout=BOUND + 5):
    """(status or "timeout", seconds, response or None) for one GET."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.monotonic()
    try:
        response = requests.get(f"{server.url}{path}", headers=headers, timeout=timeout)
    except requests.Timeout:
        return "timeout", time.monotonic() - started, None
    except requests.ConnectionError:
        return "refused", time.monotonic() - started, None
    return response.status_code, time.monotonic() - started, response


def assert_unavailable(answer):
    status, seconds, response = answer
    assert status == 503, f"got {status} after {seconds:.1f} s"
    assert seconds < BOUND, f"503 after {seconds:.1f} s"
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["errors"][0]["reason"]


def assert_served(server, path):
    status, seconds, _ = timed_get(server, path)
    assert status == 200, f"{path}: {status} after {seconds:.1f} s"
    assert seconds < BOUND, f"{path}: 200 after {seconds:.1f} s"
    return seconds


def wait_recovered(pool, server, token, within=BOUND):
    """Seconds until a burst of concurrent authenticated DB reads all answer 200 again."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        burst = pool.map(lambda _: timed_get(server, "/v4/linode/instances", token, within),
                         range(CONCURRENT))  # fmt: skip
        if {status for status, _, _ in burst} == {200}:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not every request answered 200 within {within} s of the restore")


@pytest.fixture
def served(postgres, tmp_path):
    """gunicorn (4 workers) on the database through a proxy; yields (server, proxy, token)."""
    url, token = postgres
    target = make_url(url)
    with TcpProxy(target.host, target.port or 5432) as proxy:
        proxied = target.set(host="127.0.0.1", port=proxy.port)
        env = {"DATABASE_URL": proxied.render_as_string(hide_password=False),
               "CATALOG_TTL": "1", "UNLEASH_REFRESH_INTERVAL": "1", "AUTH_CACHE_SECONDS": "0",
               "RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off", **TIMEOUTS}  # fmt: skip
        # The access log names the worker (pid) of each request: see warm_catalogs.
        env["GUNICORN_CMD_ARGS"] = "--access-logformat 'pid=%(p)s \"%(r)s\" %(s)s'"
        log_path = tmp_path / "gunicorn.log"
        with Gunicorn(env, workers=WORKERS, log_path=log_path) as server:
            warm_catalogs(server, log_path)
            yield server, proxy, token


def warm_catalogs(server, log_path, within=20.0):
    """Have every worker load its catalog (the snapshot an outage must not take away).

    A worker loads it on its first catalog request, and which worker takes a request is up
    to the kernel, so this asks until the access log shows a 200 from each of them.
    """
    seen, deadline = set(), time.monotonic() + within
    with ThreadPoolExecutor(16) as pool:
        while len(seen) < WORKERS:
            assert time.monotonic() < deadline, f"catalog loaded by {len(seen)} workers only"
            list(pool.map(lambda _: timed_get(server, "/v4/regions"), range(16)))
            seen = set(SERVED_REGIONS.findall(log_path.read_text()))


def fill_pools(pool, server, token):
    """Many concurrent DB reads, so that every worker holds open database connections."""
    answers = list(pool.map(lambda _: timed_get(server, "/v4/linode/instances", token),
                            range(CONCURRENT)))  # fmt: skip
    assert {a[0] for a in answers} == {200}, answers


def port_closed(server, proxy, token):
    """(a) Refused connections: 503 at once; the catalog keeps answering past its TTL."""
    proxy.stop()
    assert_unavailable(timed_get(server, "/v4/linode/instances", token))
    time.sleep(1.5)  # past CATALOG_TTL and a flag refresh: both reloads fail
    for _ in range(8):
        assert_served(server, "/v4/regions")
        assert_served(server, "/v4/linode/types")
        assert_unavailable(timed_get(server, "/v4/linode/instances", token))


def blackholed(pool, server, proxy, token):
    """(b) Nothing answers: every request still ends in time, the catalog is not starved."""
    proxy.blackhole()
    started = time.monotonic()
    busy = [pool.submit(timed_get, server, "/v4/linode/instances", token)
            for _ in range(CONCURRENT)]  # fmt: skip
    time.sleep(0.5)  # every worker thread is now waiting on the database
    catalog = [assert_served(server, p) for p in ["/v4/regions"] * 4 + ["/v4/linode/types"]]
    for future in busy:
        assert_unavailable(future.result())
    everything = time.monotonic() - started
    assert_unavailable(timed_get(server, "/v4/linode/instances", token))
    return max(catalog), everything


def test_outage_answers_503_fast_and_serves_the_catalog(served):
    server, proxy, token = served
    with ThreadPoolExecutor(CONCURRENT) as pool:
        fill_pools(pool, server, token)
        port_closed(server, proxy, token)
        proxy.start()
        after_close = wait_recovered(pool, server, token)

        fill_pools(pool, server, token)
        catalog, everything = blackholed(pool, server, proxy, token)
        proxy.start()  # (c) the database is back: no restart needed
        after_blackhole = wait_recovered(pool, server, token)
        assert_served(server, "/v4/regions")
    print(  # the figures, for the record (pytest -s shows them)
        f"\nrecovered after close {after_close:.2f} s; blackhole: catalog within "
        f"{catalog:.2f} s, all {CONCURRENT} answered in {everything:.2f} s; "
        f"recovered after blackhole {after_blackhole:.2f} s"
    )


def select_one(database):
    with database.reader() as session:
        return session.execute(text("SELECT 1")).scalar()


def failure_of(call, *args):
    """(the exception `call` raised, seconds it took)."""
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        call(*args)
    return caught.value, time.monotonic() - started


def test_guards_on_one_engine(postgres):
    """The read guard, the breaker and retiring stale connections, on one engine in-process."""
    url, token = postgres
    target = make_url(url)
    with TcpProxy(target.host, target.port or 5432) as proxy:
        proxied = target.set(host="127.0.0.1", port=proxy.port)
        database = Database(proxied.render_as_string(hide_password=False),
                            connect_timeout=1, statement_timeout=1)  # fmt: skip
        try:
            assert select_one(database) == 1 and tokens.lookup(database, token)
            # The server closes every connection: the pooled one fails once (raw DBAPI
            # code), then no request meets a connection from before.
            proxy.stop()
            proxy.start()
            error, _ = failure_of(tokens.lookup, database, token)
            assert is_unavailable(error), error
            assert tokens.lookup(database, token)["account_id"]

            # A blackhole: the open connection's query gets no answer, and fails after
            # the guard (statement 1 s + connect 1 s); new connections then fail fast.
            proxy.blackhole()
            error, seconds = failure_of(select_one, database)
            assert is_unavailable(error) and 1.5 < seconds < 3.5, (error, seconds)
            error, seconds = failure_of(select_one, database)
            assert is_unavailable(error) and seconds < 0.5, (error, seconds)

            proxy.start()
            time.sleep(FAIL_FAST_SECONDS)
            assert select_one(database) == 1
        finally:
            database.dispose()
