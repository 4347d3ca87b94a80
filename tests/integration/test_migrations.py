"""Migrations: upgrade, downgrade and upgrade again; models and migrations agree."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from cloudapi.db import Base
from tests.support import databases


def _round_trip(url):
    cfg = databases.migrate(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        assert "instances" in inspect(engine).get_table_names()
        command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(cfg, "head")
        assert "events" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_sqlite_round_trip(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'rt.sqlite'}")


def test_postgresql_round_trip():
    with databases.postgres_database() as url:
        _round_trip(url)
