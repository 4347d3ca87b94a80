"""Database access: the engine and sessions, built per app, never at import."""

from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from cloudapi.db import (  # noqa: F401 (register every model)
    accounts,
    addresses,
    agent_keys,
    betas,
    catalog,
    disks,
    firewalls,
    flags,
    instances,
    inventory,
    jobs,
    outage,
    profile,
    sessions,
)
from cloudapi.db.base import Base

__all__ = ["Base", "Database"]


def _sqlite_setup(engine):
    """Make SQLite behave: foreign keys, WAL, a busy timeout, explicit BEGINs.

    Write transactions start with BEGIN IMMEDIATE so that concurrent writers are
    serialised by SQLite's lock instead of failing on upgrade from a read lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get("writer") else "BEGIN"
        conn.exec_driver_sql(mode)


def _postgres_setup(url, timeouts):
    """Engine arguments for PostgreSQL: a bounded pool, and timeouts on every connection."""
    connect, statement, pool = timeouts
    options = make_url(url).query.get("options")
    return {
        # No pre-ping: it costs a round trip on every checkout, and the hot path (token
        # lookup) is one query; a connection dropped by a server restart is invalidated on
        # its first error, along with the rest of the pool, and replaced.
        "pool_size": 10, "max_overflow": 20, "pool_recycle": 1800, "pool_timeout": pool or None,
        "connect_args": outage.postgres_connect_args(connect, statement, options),
    }  # fmt: skip


class Database:
    """An engine and a session factory for one database URL.

    On PostgreSQL every wait is bounded (seconds; see cloudapi/db/outage.py): connecting
    (`connect_timeout`), a statement (`statement_timeout`, server side, and a client-side
    guard for a server that stops answering), and waiting for a pooled connection
    (`pool_timeout`). SQLite waits on its lock for its busy timeout instead.
    """

    def __init__(self, url, echo=False, connect_timeout=3.0, statement_timeout=5.0,
                 pool_timeout=5.0):  # fmt: skip
        self.url = url
        kwargs = {"echo": echo}
        if url.startswith("postgresql"):
            timeouts = (connect_timeout, statement_timeout, pool_timeout)
            kwargs.update(_postgres_setup(url, timeouts))
        self.engine = create_engine(url, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        elif self.engine.dialect.driver == "psycopg":
            self.guard = outage.PostgresGuard(connect_timeout, statement_timeout)
            self.guard.install(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self):
        """Yield a session in one write transaction: committed on success, else rolled back."""
        with self.sessions() as session:
            session.connection(execution_options={"writer": True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reader(self):
        """Yield a session for reads; nothing it does is committed."""
        with self.sessions() as session:
            yield session

    def dispose(self):
        self.engine.dispose()
