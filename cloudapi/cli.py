"""The `cloudapi` operator command."""

import json
import logging
import os
import sys
from pathlib import Path

import click

from cloudapi.services import accounts, tokens


def _app(flags=False):
    """The app as configured by the environment; flags only for commands that read them."""
    from cloudapi import create_app

    return create_app({"FLAGS_ENABLED": flags})


def _database():
    return _app().extensions["cloudapi.db"]


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
    from cloudapi.db import migrate

    url = _app().config["DATABASE_URL"]
    try:
        migrate.upgrade(url, revision)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database at {revision}: {_redact(url)}")


@db.command()
@click.argument("revision")
def downgrade(revision):
    """Migrate the database down to REVISION (e.g. base)."""
    from cloudapi.db import migrate

    migrate.downgrade(_app().config["DATABASE_URL"], revision)
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
        "--access-logfile", "-", "--graceful-timeout", "5", *gunicorn_limits(),
    ]  # fmt: skip
    os.execv(sys.executable, args)


GUNICORN_MAX_REQUEST_LINE = 8190  # gunicorn refuses a larger --limit-request-line


def gunicorn_limits(config=None):
    """gunicorn's request limits, each well above the app's own (cloudapi/api/limits.py).

    gunicorn answers what breaks its limits with an HTML page (414, 431, 400) that no
    Linode client can read. With theirs set above ours, a request between the two gets
    our JSON 414/431, and only one past gunicorn's (a URL over 8 KiB, a header over 4x
    MAX_HEADER_BYTES, or twice MAX_HEADER_COUNT headers) can still meet gunicorn's page.
    """
    from cloudapi import config as config_module

    config = config or {**config_module.DEFAULTS, **config_module.from_environ()}
    if config["MAX_URL_BYTES"] > GUNICORN_MAX_REQUEST_LINE - 32:  # "DELETE <url> HTTP/1.1"
        click.echo("warning: MAX_URL_BYTES is above what gunicorn accepts", err=True)
    return [
        "--limit-request-line", str(GUNICORN_MAX_REQUEST_LINE),
        "--limit-request-fields", str(2 * config["MAX_HEADER_COUNT"]),
        "--limit-request-field_size", str(4 * config["MAX_HEADER_BYTES"]),
    ]  # fmt: skip


# -- accounts and tokens ---------------------------------------------------------------


def _in_transaction(fn, *args, **kwargs):
    """Run fn(session, ...) in one transaction; a ValueError from a service is a CLI error."""
    try:
        with _database().transaction() as session:
            return fn(session, *args, **kwargs)
    except ValueError as exc:  # AccountError, ScopeError, BetaError, HostError
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
@click.option("--host", help="Create a host agent's token for HOST (reaches /internal only).")
@click.option("--scopes", default="*", show_default=True, help='e.g. "linodes:read_only"')
@click.option("--label", default="")
def tokens_create(account_id, admin, host, scopes, label):
    """Create a token and print it (it cannot be shown again)."""
    if [account_id is not None, admin, host is not None].count(True) != 1:
        raise click.UsageError("give exactly one of --account ID, --admin or --host HOST")

    def make(session):
        if account_id is not None:
            accounts.get(session, account_id)
        return tokens.create(
            session, account_id=account_id, is_admin=admin, host=host, scopes=scopes, label=label
        )

    click.echo(_in_transaction(make))


# -- feature flags and betas --------------------------------------------------------------


def _flag_admin(app=None):
    from cloudapi.flagging.admin import FlagError, flag_admin

    app = app or _app()
    try:
        return flag_admin(app.config, app.extensions["cloudapi.db"])
    except FlagError as exc:
        raise click.ClickException(str(exc)) from None


def _default_actor():
    import getpass
    import socket

    return f"{getpass.getuser()}@{socket.gethostname()} (cli)"


@main.group()
def flags():
    """Feature flags: list, launch (enable), roll back (disable), sync, check, audit."""


@flags.command("list")
def flags_list():
    """Each flag, on or off, and its strategies, in the current environment."""
    from cloudapi.flagging.admin import FlagError

    admin = _flag_admin()
    try:
        found = admin.flags()
    except FlagError as exc:
        raise click.ClickException(str(exc)) from None
    for info in found:
        state = "on " if info.enabled else "off"
        click.echo(f"{info.name:<28} {state} [{info.environment}, {admin.mode}]")
        for line in info.strategies:
            click.echo(f"    {line}")


def _flip(name, enabled, actor):
    from cloudapi.flagging.admin import FlagError

    admin = _flag_admin()
    try:
        old, new = admin.set_enabled(name, enabled, actor or _default_actor())
    except FlagError as exc:
        raise click.ClickException(str(exc)) from None
    words = {True: "on", False: "off"}
    click.echo(f"{name}: {words[old]} -> {words[new]} [{admin.environment}, {admin.mode}]")


@flags.command("enable")
@click.argument("name")
@click.option("--actor", help="Who is flipping it (default: user@host).")
def flags_enable(name, actor):
    """Turn flag NAME on (for a launch flag: release to every account)."""
    _flip(name, True, actor)


@flags.command("disable")
@click.argument("name")
@click.option("--actor", help="Who is flipping it (default: user@host).")
def flags_disable(name, actor):
    """Turn flag NAME off (for a launch flag: roll back)."""
    _flip(name, False, actor)


@flags.command("sync")
def flags_sync():
    """Push flags/ to the Unleash server: create what is missing, flip nothing."""
    from cloudapi.flagging.admin import FlagError

    try:
        actions = _flag_admin().sync()
    except FlagError as exc:
        raise click.ClickException(str(exc)) from None
    for line in actions:
        click.echo(line)
    click.echo("in sync" if not actions else f"{len(actions)} change(s)")


@flags.command("audit")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def flags_audit(limit):
    """Recent flips: when, who, which flag, from what to what."""
    words = {True: "on", False: "off", None: "?"}
    for entry in _flag_admin().audit(limit):
        change = f"{words[entry['from']]:>3} -> {words[entry['to']]:<3}"
        click.echo(
            f"{entry['at']}  {entry['flag']:<28} {change} {entry['environment']}"
            f"  by {entry['actor']}"
        )


@flags.command("check")
@click.option("--account", "account_id", required=True, type=int)
def flags_check(account_id):
    """What this account sees, and why."""
    from cloudapi.flagging import check

    app = _app(flags=True)
    try:
        report = check.explain(app, account_id)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        app.extensions["cloudapi.flags"].shutdown()
    click.echo(report)


@main.group("betas")
def betas_group():
    """Betas that accounts can enroll in (enrollment grants early access)."""


@betas_group.command("list")
def betas_list():
    from cloudapi.services import betas

    with _database().reader() as session:
        for beta in betas.all_betas(session):
            click.echo(f"{beta.id:<20} {'open' if beta.is_open else 'closed':<7} {beta.label}")


def _set_beta(beta_id, is_open):
    from cloudapi.services import betas

    _in_transaction(betas.set_open, beta_id, is_open)
    click.echo(f"{beta_id}: {'open' if is_open else 'closed'}")


@betas_group.command("open")
@click.argument("beta_id")
def betas_open(beta_id):
    """Open BETA_ID for enrollment."""
    _set_beta(beta_id, True)


@betas_group.command("close")
@click.argument("beta_id")
def betas_close(beta_id):
    """Close BETA_ID to new enrollments (enrolled accounts keep it)."""
    _set_beta(beta_id, False)


# -- GPU inventory ---------------------------------------------------------------------------


@main.group("hosts")
def hosts_group():
    """GPU hosts: add, list, set status, discover."""


@hosts_group.command("add")
@click.argument("description", type=click.File("r"))
@click.option("--region", help="Region for the host (overrides the file's).")
def hosts_add(description, region):
    """Register the host described in DESCRIPTION (JSON, as `hosts discover` writes)."""
    from cloudapi.errors import ApiError
    from cloudapi.services import hosts

    try:
        doc = json.load(description)
    except ValueError as exc:
        raise click.ClickException(f"{description.name}: not JSON: {exc}") from None
    if region and isinstance(doc, dict):
        doc["region"] = region
    try:
        with _database().transaction() as session:
            host = hosts.register(session, doc)
            summary = (
                f"{host.hostname} ({host.region_id}): "
                f"{len(host.nodes)} NUMA nodes, {len(host.gpus)} GPUs"
            )
    except ApiError as exc:
        problems = "; ".join(f"{e.get('field', '')}: {e['reason']}" for e in exc.errors)
        raise click.ClickException(problems) from None
    click.echo(f"added {summary}")


@hosts_group.command("list")
@click.option("--region")
def hosts_list(region):
    """List hosts with their status and GPUs per NUMA node."""
    from cloudapi.services import hosts

    with _database().reader() as session:
        for host in hosts.listing(session, region):
            nodes = " ".join(f"node{n.node}:{n.gpus_free}/{n.gpus_total}" for n in host.nodes)
            click.echo(f"{host.hostname:<24} {host.region_id:<12} {host.status:<12} "
                       f"free/total GPUs {nodes}")  # fmt: skip


@hosts_group.command("set-status")
@click.argument("hostname")
@click.argument("status", type=click.Choice(["active", "maintenance", "draining"]))
def hosts_set_status(hostname, status):
    """Set a host active (takes new instances), maintenance or draining (takes none)."""
    from cloudapi.services import hosts

    _in_transaction(hosts.set_status, hostname, status)
    click.echo(f"{hostname}: {status}")


@hosts_group.command("discover")
@click.option("--sysfs", "root", default="/", show_default=True, help="Root of /sys and /proc.")
@click.option("--hostname")
@click.option("--region")
def hosts_discover(root, hostname, region):
    """Print this machine's host description (GPUs, NUMA nodes, IOMMU groups) as JSON."""
    from cloudapi.inventory import discover

    try:
        found = discover.discover(root, hostname=hostname, region=region)
    except discover.DiscoveryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(found, indent=2))


@main.command("capacity")
@click.option("--region")
def capacity_cmd(region):
    """GPUs total, allocated, free and sellable per plan, per region and host."""
    from cloudapi.services import capacity

    app = _app()
    with app.extensions["cloudapi.db"].reader() as session:
        report = capacity.report(session, app.extensions["cloudapi.catalog"].snapshot(), region)
    click.echo(capacity.table(report))


# -- jobs: relay, agents, and everything together ------------------------------------------


@main.command()
@click.option("--poll", default=0.5, show_default=True, type=float, help="Seconds between polls.")
def relay(poll):
    """Relay unsent jobs from the outbox to the broker (BROKER_URL), forever."""
    from cloudapi.jobs.relay import Relay

    logging.basicConfig(level=logging.INFO, format="%(asctime)s relay %(message)s")
    app = _app()
    Relay(app.extensions["cloudapi.db"], app.config["BROKER_URL"]).run_forever(poll=poll)


@main.command()
@click.option("--host", "hostname", required=True, help="The host (or pool.<region>) to serve.")
@click.option("--api", "api_url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--token", envvar="AGENT_TOKEN", help="The host's token (env AGENT_TOKEN).")
@click.option("--boot-seconds", default=0.5, show_default=True, type=float)
def agent(hostname, api_url, token, boot_seconds):
    """Run the host agent for HOST: consume its jobs, run them, report progress."""
    from cloudapi.agent.main import run_agent

    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s agent {hostname} %(message)s")
    app = _app()
    if not token:
        with app.extensions["cloudapi.db"].transaction() as session:
            token = tokens.create(session, host=hostname, label=f"agent {hostname}")
    state = Path(app.config["AGENT_STATE_DIR"]) / hostname
    run_agent(hostname, api_url, token, app.config["BROKER_URL"], state, boot_seconds)


@main.command("domain-xml")
@click.argument("instance_id", type=int)
def domain_xml(instance_id):
    """Print the libvirt domain XML an agent built for INSTANCE_ID."""
    root = Path(_app().config["AGENT_STATE_DIR"])
    found = sorted(root.glob(f"*/domains/{instance_id}/domain.xml"))
    if not found:
        raise click.ClickException(f"no agent under {root} has a domain for {instance_id}")
    click.echo(found[-1].read_text())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def up(host, port, workers):
    """Run the whole product: the API (gunicorn), a relay and one agent per host and pool.

    It serves plain HTTP: on a loopback address the console's cookie is not marked Secure
    (unless SESSION_COOKIE_SECURE says otherwise), so a browser on this machine can log in.
    """
    from cloudapi.services import stack

    if host in ("127.0.0.1", "localhost", "::1"):
        os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
    app = _app()
    raise SystemExit(stack.run(app, host, port, workers))


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
