"""The `cloudapi` operator command."""

import json
import os
import sys
from pathlib import Path

import click

from cloudapi.services import accounts, tokens

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _app():
    from cloudapi import create_app

    return create_app()


def _database():
    return _app().extensions["cloudapi.db"]


def _alembic_config(url):
    from alembic.config import Config

    if not MIGRATIONS.is_dir():
        raise click.ClickException(f"migrations not found at {MIGRATIONS}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database_url"] = url
    return cfg


@click.group()
def main():
    """Operate cloudapi: database, accounts, tokens, demo data and the API server."""


# -- db --------------------------------------------------------------------------------


@main.group()
def db():
    """Database migrations."""


@db.command()
@click.option("--revision", default="head", show_default=True)
def upgrade(revision):
    """Migrate the database up (alembic upgrade)."""
    from alembic import command

    url = _app().config["DATABASE_URL"]
    command.upgrade(_alembic_config(url), revision)
    click.echo(f"database at {revision}: {_redact(url)}")


@db.command()
@click.argument("revision")
def downgrade(revision):
    """Migrate the database down to REVISION (e.g. base)."""
    from alembic import command

    command.downgrade(_alembic_config(_app().config["DATABASE_URL"]), revision)
    click.echo(f"database at {revision}")


def _redact(url):
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# -- serve -----------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
def serve(host, port, workers, threads):
    """Serve the API with gunicorn (each worker builds its own app after fork)."""
    args = [
        sys.executable, "-m", "gunicorn", "cloudapi:create_app()",
        "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
        "--access-logfile", "-", "--graceful-timeout", "5",
    ]  # fmt: skip
    os.execv(sys.executable, args)


# -- accounts and tokens ---------------------------------------------------------------


def _in_transaction(fn, *args, **kwargs):
    try:
        with _database().transaction() as session:
            return fn(session, *args, **kwargs)
    except (accounts.AccountError, tokens.ScopeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@main.group("accounts")
def accounts_group():
    """Customer accounts and their tags."""


@accounts_group.command("create")
@click.option("--email", required=True)
@click.option("--tag", "tags", multiple=True, help="A tag such as 'employee'; repeatable.")
def accounts_create(email, tags):
    """Create an account; print its id."""
    click.echo(_in_transaction(lambda s: accounts.create(s, email, tags).id))


@accounts_group.command("list")
def accounts_list():
    """List accounts with their tags."""
    with _database().reader() as session:
        for a in accounts.listing(session):
            click.echo(f"{a.id}\t{a.email}\t{','.join(a.tag_names)}")


@accounts_group.command("tag")
@click.argument("account_id", type=int)
@click.argument("tag")
def accounts_tag(account_id, tag):
    """Add TAG to an account."""
    tags = _in_transaction(lambda s: accounts.tag(s, account_id, tag).tag_names)
    click.echo(f"account {account_id} tags: {', '.join(tags)}")


@accounts_group.command("untag")
@click.argument("account_id", type=int)
@click.argument("tag")
def accounts_untag(account_id, tag):
    """Remove TAG from an account."""
    tags = _in_transaction(lambda s: accounts.untag(s, account_id, tag).tag_names)
    click.echo(f"account {account_id} tags: {', '.join(tags) or '(none)'}")


@main.group("tokens")
def tokens_group():
    """API tokens (shown once, stored hashed)."""


@tokens_group.command("create")
@click.option("--account", "account_id", type=int, help="The account the token acts for.")
@click.option("--admin", is_flag=True, help="Create an admin token instead.")
@click.option("--scopes", default="*", show_default=True, help='e.g. "linodes:read_only"')
@click.option("--label", default="")
def tokens_create(account_id, admin, scopes, label):
    """Create a token and print it (it cannot be shown again)."""
    if admin == (account_id is not None):
        raise click.UsageError("give exactly one of --account ID or --admin")

    def make(session):
        if account_id is not None:
            accounts.get(session, account_id)
        return tokens.create(
            session, account_id=account_id, is_admin=admin, scopes=scopes, label=label
        )

    click.echo(_in_transaction(make))


# -- demo ------------------------------------------------------------------------------


@main.command()
@click.option("--out", default="demo-tokens.json", show_default=True, type=click.Path())
def demo(out):
    """Seed demo accounts and tokens; write the tokens to OUT."""
    from cloudapi.services import demo as demo_service

    with _database().transaction() as session:
        seeded = demo_service.seed(session)
    Path(out).write_text(json.dumps(seeded, indent=2) + "\n")
    os.chmod(out, 0o600)
    click.echo(f"demo data seeded; tokens written to {out}")
    for name, info in seeded["accounts"].items():
        click.echo(f"  {name:<9} account {info['id']:<3} {info['email']:<24} token {info['token']}")
    click.echo(f"  admin     token {seeded['admin_token']}")


if __name__ == "__main__":
    main()
