"""Alembic migrations run from code: by the CLI, the tests and the benches."""

from pathlib import Path

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
