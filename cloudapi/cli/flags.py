"""`cloudapi flags`: list, launch (enable), roll back (disable), sync, check, audit."""

import click

from cloudapi.cli.runtime import pass_runtime

ON_OFF = {True: "on", False: "off", None: "?"}


def _flag_admin(runtime):
    from cloudapi.flagging.admin import flag_admin

    return flag_admin(runtime.config, runtime.database)


def _default_actor():
    import getpass
    import socket

    return f"{getpass.getuser()}@{socket.gethostname()} (cli)"


@click.group()
def flags():
    """Feature flags: list, launch (enable), roll back (disable), sync, check, audit."""


@flags.command("list")
@pass_runtime
def flags_list(runtime):
    """Each flag, on or off, and its strategies, in the current environment."""
    admin = _flag_admin(runtime)
    for info in admin.flags():
        state = "on " if info.enabled else "off"
        click.echo(f"{info.name:<28} {state} [{info.environment}, {admin.mode}]")
        for line in info.strategies:
            click.echo(f"    {line}")


def _flip_command(name, enabled, help):
    """`flags enable` and `flags disable`: flip flag NAME, then say from what to what."""

    @flags.command(name, help=help)
    @click.argument("name")
    @click.option("--actor", help="Who is flipping it (default: user@host).")
    @pass_runtime
    def command(runtime, name, actor):
        admin = _flag_admin(runtime)
        old, new = admin.set_enabled(name, enabled, actor or _default_actor())
        click.echo(f"{name}: {ON_OFF[old]} -> {ON_OFF[new]} [{admin.environment}, {admin.mode}]")

    return command


flags_enable = _flip_command(
    "enable", True, "Turn flag NAME on (for a launch flag: release to every account)."
)
flags_disable = _flip_command(
    "disable", False, "Turn flag NAME off (for a launch flag: roll back)."
)


@flags.command("sync")
@pass_runtime
def flags_sync(runtime):
    """Push flags/ to the Unleash server: create what is missing, flip nothing."""
    actions = _flag_admin(runtime).sync()
    for line in actions:
        click.echo(line)
    click.echo("in sync" if not actions else f"{len(actions)} change(s)")


@flags.command("audit")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@pass_runtime
def flags_audit(runtime, limit):
    """Recent flips: when, who, which flag, from what to what."""
    for entry in _flag_admin(runtime).audit(limit):
        change = f"{ON_OFF[entry['from']]:>3} -> {ON_OFF[entry['to']]:<3}"
        click.echo(
            f"{entry['at']}  {entry['flag']:<28} {change} {entry['environment']}"
            f"  by {entry['actor']}"
        )


@flags.command("check")
@click.option("--account", "account_id", required=True, type=int)
@pass_runtime
def flags_check(runtime, account_id):
    """What this account sees, and why."""
    from cloudapi.flagging import check

    app = runtime.app(flags=True)
    try:
        report = check.explain(app, account_id)
    finally:
        app.extensions["cloudapi.flags"].shutdown()
    click.echo(report)


COMMANDS = (flags,)
