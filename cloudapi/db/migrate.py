"""Alembic migrations run from code, and throwaway PostgreSQL databases for tests and benches."""

import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url):
    from alembic.config import Config

    if not MIGRATIONS.is_dir():
        raise FileNotFoundError(f"migrations not found at {MIGRATIONS}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url, revision="head"):
    """Migrate the database at `url` up to `revision`; return the alembic config used."""
    from alembic import command

    cfg = alembic_config(url)
    command.upgrade(cfg, revision)
    return cfg


def downgrade(url, revision):
    from alembic import command

    command.downgrade(alembic_config(url), revision)


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
