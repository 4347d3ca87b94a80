"""Throwaway test databases: a SQLite file, and a PostgreSQL database made and dropped."""

import os
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cloudapi.db import migrate as migrations

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Tables that tests write, children first; the catalog (from migrations) is kept.
MUTABLE_TABLES = ("events", "jobs", "allocations", "gpus", "instance_tags", "instances",
                  "numa_nodes", "hosts", "tokens", "account_tags", "account_betas", "accounts",
                  "flag_states", "flag_audit", "agent_keys", "freed_slots")  # fmt: skip


def require_services():
    return os.environ.get("CLOUDAPI_REQUIRE_SERVICES") == "1"


def missing_service(reason):
    """Skip for a missing service, or fail when the run requires every service."""
    if require_services():
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def admin_url():
    url = os.environ.get("CLOUDAPI_TEST_DATABASE_URL", DEFAULT_PG)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


@contextmanager
def postgres_database():
    """Create a throwaway PostgreSQL database; yield its URL; drop it after."""
    admin = make_url(admin_url())
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        where = f"{admin.host}:{admin.port}"
        missing_service(f"PostgreSQL not reachable at {where}: {type(exc).__name__}")
    finally:
        engine.dispose()
    with throwaway_postgres(admin_url(), prefix="cloudapi_test") as url:
        yield url


@contextmanager
def throwaway_postgres(admin_url, prefix="cloudapi_tmp"):
    """Create `<prefix>_<random>` on the server of `admin_url`; yield its URL; drop it after."""
    admin = make_url(admin_url)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def migrate(url, revision="head"):
    return migrations.upgrade(url, revision)


def clean(database):
    """Remove everything tests wrote, keeping the catalog."""
    with database.transaction() as session:
        for table in MUTABLE_TABLES:
            session.execute(text(f"DELETE FROM {table}"))
        session.execute(text("UPDATE betas SET is_open = :closed"), {"closed": False})
