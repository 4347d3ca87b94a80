"""`cloudapi db`: database migrations."""

import click

from cloudapi.cli.errors import TranslatingGroup
from cloudapi.cli.runtime import pass_runtime


@click.group(cls=TranslatingGroup, translates=(FileNotFoundError,))
def db():
    """Database migrations."""


@db.command()
@click.option("--revision", default="head", show_default=True)
@pass_runtime
def upgrade(runtime, revision):
    """Migrate the database up (alembic upgrade)."""
    from cloudapi.db import migrate

    url = runtime.config["DATABASE_URL"]
    migrate.upgrade(url, revision)
    click.echo(f"database at {revision}: {_redact(url)}")


@db.command()
@click.argument("revision")
@pass_runtime
def downgrade(runtime, revision):
    """Migrate the database down to REVISION (e.g. base)."""
    from cloudapi.db import migrate

    migrate.downgrade(runtime.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


def _redact(url):
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


COMMANDS = (db,)
