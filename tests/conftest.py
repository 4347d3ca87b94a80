"""Fixtures: every app-level test runs on SQLite and on PostgreSQL."""

import pytest
from flask.testing import FlaskClient

from cloudapi import create_app
from cloudapi.services import accounts, hosts, tokens
from cloudapi.services.demo_hosts import RTX6000, describe
from tests.support import databases, openapi
from tests.support.live import LiveServer
from tests.support.rabbit import rabbit  # noqa: F401 (a fixture: RabbitMQ per test)
from tests.support.redis_store import redis_limits  # noqa: F401 (a fixture: a Redis key prefix)
from tests.support.unleash import UnleashServer


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated database per backend, shared by the session's tests."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        databases.migrate(url)
        yield url
    else:
        with databases.postgres_database() as url:
            databases.migrate(url)
            yield url


class CheckedClient(FlaskClient):
    """A test client that checks every response against openapi.yaml and Linode's spec."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        request = response.request
        openapi.check(request.method, request.path, response)
        openapi.check_linode(request.method, request.path, response)
        return response


@pytest.fixture
def make_app(database_url):
    """Build apps on the test database (extra config as keywords); all torn down after."""
    made = []

    def make(**config):
        # Rate limits are tested on their own (test_edge.py); elsewhere they are off.
        base = {"DATABASE_URL": database_url, "TESTING": True, "RATE_LIMIT": "off",
                "RATE_LIMIT_CREATE": "off"}  # fmt: skip
        app = create_app({**base, **config})
        app.test_client_class = CheckedClient
        made.append(app)
        return app

    make.made = made
    yield make
    for app in made:
        flags = app.extensions.get("cloudapi.flags")
        if flags is not None:
            flags.shutdown()
    if made:
        databases.clean(made[0].extensions["cloudapi.db"])
    for app in made:
        app.extensions["cloudapi.db"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def add_host(db, make_app):
    """Register a host (the demo shape by default); every app's catalog sees it at once."""

    def add(hostname, region="us-east", nodes=2, gpus_per_node=4, gpu=RTX6000, **changes):
        shape = describe(hostname, region, nodes, gpus_per_node, gpu)
        with db.transaction() as session:
            hosts.register(session, {**shape, **changes})
        for made in make_app.made:
            made.extensions["cloudapi.catalog"].invalidate()
        return hostname

    return add


@pytest.fixture
def gpu_hosts(add_host):
    """Two 8-GPU hosts (2 NUMA nodes x 4 GPUs) in us-east."""
    return [add_host("gpu-1.us-east"), add_host("gpu-2.us-east")]


@pytest.fixture
def db(app):
    return app.extensions["cloudapi.db"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_account(db):
    """Create an account; return (account_id, headers for a token with `scopes`)."""
    counter = iter(range(1, 10_000))

    def make(tags=(), scopes="*", email=None):
        with db.transaction() as session:
            account = accounts.create(session, email or f"user{next(counter)}@example.com", tags)
            token = tokens.create(session, account_id=account.id, scopes=scopes)
            return account.id, {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def customer(make_account):
    return make_account()


@pytest.fixture
def employee(make_account):
    return make_account(tags=("employee",))


@pytest.fixture
def admin_headers(db):
    with db.transaction() as session:
        token = tokens.create(session, is_admin=True)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def unleash_server(tmp_path_factory):
    """A real Unleash server (npm unleash-server) with a fresh database, for the session."""
    with UnleashServer(run_dir=tmp_path_factory.mktemp("unleash")) as server:
        yield server
