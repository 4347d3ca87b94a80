"""An unreachable database is a 503 with Retry-After; a bug stays a 500; caches keep serving.

No server here: errors are built by hand, the way SQLAlchemy and the drivers raise them.
"""

import json
import sqlite3
from types import SimpleNamespace

import psycopg
import pytest
from flask import Flask
from sqlalchemy import exc as sa_exc
from UnleashClient.constants import FEATURES_URL

from cloudapi.api import errors
from cloudapi.db.outage import Breaker, is_unavailable
from cloudapi.flagging.caches import LocalStateCache
from cloudapi.services.catalog import Catalog, Snapshot


def wrapped(orig, cls=sa_exc.OperationalError, invalidated=False):
    return cls("SELECT 1", {}, orig, connection_invalidated=invalidated)


def sqlite_error(message, name):
    error = sqlite3.OperationalError(message)
    error.sqlite_errorname = name
    return error


UNAVAILABLE = {
    "refused": wrapped(psycopg.OperationalError("connection failed: Connection refused")),
    "raw psycopg": psycopg.OperationalError("the connection is lost"),
    "statement timeout": wrapped(psycopg.errors.QueryCanceled("canceling statement")),
    "admin shutdown": wrapped(psycopg.errors.AdminShutdown("terminating connection")),
    "too many clients": wrapped(psycopg.errors.TooManyConnections("too many clients")),
    "invalidated": wrapped(psycopg.InterfaceError("closed"), sa_exc.InterfaceError, True),
    "pool timeout": sa_exc.TimeoutError("QueuePool limit of size 10 overflow 20 reached"),
    "sqlite busy": wrapped(sqlite_error("database is locked", "SQLITE_BUSY")),
}
BUGS = {
    "missing table": wrapped(
        psycopg.errors.UndefinedTable("no such table"), sa_exc.ProgrammingError
    ),  # fmt: skip
    "unique": wrapped(psycopg.errors.UniqueViolation("duplicate key"), sa_exc.IntegrityError),
    "deadlock": wrapped(psycopg.errors.DeadlockDetected("deadlock detected")),
    "sqlite no table": wrapped(sqlite_error("no such table: x", "SQLITE_ERROR")),
    "raw sqlite no table": sqlite_error("no such table: x", "SQLITE_ERROR"),
    "not a database error": ValueError("bad"),
}


@pytest.mark.parametrize("name", UNAVAILABLE)
def test_unreachable_database_is_unavailable(name):
    assert is_unavailable(UNAVAILABLE[name])


@pytest.mark.parametrize("name", BUGS)
def test_bugs_are_not_unavailable(name):
    assert not is_unavailable(BUGS[name])


@pytest.fixture
def client():
    app = Flask(__name__)
    errors.init_app(app)

    @app.get("/raise/<kind>/<name>")
    def raise_(kind, name):
        raise (UNAVAILABLE if kind == "down" else BUGS)[name]

    return app.test_client()


@pytest.mark.parametrize("name", ["refused", "raw psycopg", "pool timeout", "invalidated"])
def test_funnel_answers_503_with_retry_after(client, name):
    response = client.get(f"/raise/down/{name}")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json() == {"errors": [{"reason": errors.DATABASE_UNAVAILABLE}]}


@pytest.mark.parametrize("name", ["missing table", "unique", "raw sqlite no table"])
def test_funnel_keeps_bugs_500(client, name):
    response = client.get(f"/raise/bug/{name}")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


class FlakyLoads:
    """Stands in for Catalog._load: snapshots, or the error it is told to raise."""

    def __init__(self):
        self.error, self.calls = None, 0

    def __call__(self):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return Snapshot({}, {"r": self.calls}, {})


def flaky_catalog(ttl=0.0):
    catalog = Catalog(database=None, ttl=ttl)
    catalog._load = FlakyLoads()
    return catalog


def test_catalog_serves_its_last_snapshot_while_the_database_is_down():
    catalog = flaky_catalog(ttl=0.0)
    first = catalog.snapshot()
    catalog._load.error = UNAVAILABLE["refused"]
    catalog._fresh_until = 0.0
    assert catalog.snapshot() is first
    calls = catalog._load.calls
    assert catalog.snapshot() is first
    assert catalog._load.calls == calls, "a failed reload waits before the next attempt"
    catalog._load.error = None
    catalog._fresh_until = 0.0
    assert catalog.snapshot() is not first


def test_catalog_raises_bugs_and_a_first_load_it_cannot_do():
    catalog = flaky_catalog()
    catalog._load.error = UNAVAILABLE["refused"]
    with pytest.raises(sa_exc.OperationalError):
        catalog.snapshot()  # nothing to fall back on
    catalog._load.error = None
    catalog.snapshot()
    catalog._load.error = BUGS["missing table"]
    catalog._fresh_until = 0.0
    with pytest.raises(sa_exc.ProgrammingError):
        catalog.snapshot()


def test_breaker_fails_fast_then_lets_one_probe_through():
    breaker = Breaker(cooldown=60)
    breaker.before_connect()  # healthy: no limit
    breaker.failed()
    with pytest.raises(psycopg.OperationalError):
        breaker.before_connect()
    breaker.cooldown = 0
    breaker.failed()
    breaker.before_connect()  # the probe
    with pytest.raises(psycopg.OperationalError):
        breaker.before_connect()  # while the probe runs
    breaker.succeeded()
    breaker.before_connect()
    breaker.before_connect()


class DownDatabase:
    def __init__(self):
        self.down = False

    def reader(self):
        if self.down:
            raise UNAVAILABLE["refused"]
        return _FlagSwitchedOff()


class _FlagSwitchedOff:
    """A session whose flag_states table says flag "f" is off."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def scalars(self, _query):
        return [SimpleNamespace(name="f", enabled=False, regions=None, rollout=None)]


def test_flag_state_keeps_the_last_known_flags_when_the_database_is_down():
    doc = {"version": 2, "features": [{"name": "f", "enabled": True, "strategies": []}]}
    database = DownDatabase()
    cache = LocalStateCache(doc, database)
    assert json.loads(cache.get(FEATURES_URL))["features"][0]["enabled"] is False
    database.down = True
    # The state last read from the database, not the file's default (enabled), and no error.
    assert json.loads(cache.get(FEATURES_URL))["features"][0]["enabled"] is False
