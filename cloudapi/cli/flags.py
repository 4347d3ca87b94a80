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
        scope = ""
        if info.regions is not None:
            scope += f" in {','.join(info.regions) or 'no region'}"
        if info.rollout not in (None, 100):
            scope += f" for {info.rollout}%"
        click.echo(f"{info.name:<30} {state} [{info.environment}, {admin.mode}]{scope}")
        for line in info.strategies:
            click.echo(f"    {line}")


def _scope_options(command):
    """--region (repeatable), --everywhere, --rollout and --force, for a launch flag."""
    options = (
        click.option("--region", "regions", multiple=True,
                     help="A region to open (enable) or close (disable); repeatable."),
        click.option("--everywhere", is_flag=True, help="Lift the region scope (enable only)."),
        click.option("--rollout", type=click.IntRange(0, 100),
                     help="The percentage of accounts it is on for."),
        click.option("--force", is_flag=True, help="Open regions with no sellable capacity."),
    )  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _scope(enabled, regions, everywhere, rollout, force):
    from cloudapi.flagging.rollout import Scope

    return Scope(
        add_regions=tuple(regions) if enabled else (),
        remove_regions=() if enabled else tuple(regions),
        everywhere=everywhere, rollout=rollout, force=force,
    )  # fmt: skip


def _scope_text(flip):
    where = "everywhere" if flip.regions is None else ",".join(flip.regions)
    share = "" if flip.rollout in (None, 100) else f", {flip.rollout}%"
    return f" ({where}{share})" if flip.new else ""


def _flip_command(name, enabled, help):
    """`flags enable` and `flags disable`: flip flag NAME, then say from what to what."""

    @flags.command(name, help=help)
    @click.argument("name")
    @click.option("--actor", help="Who is flipping it (default: user@host).")
    @_scope_options
    @pass_runtime
    def command(runtime, name, actor, regions, everywhere, rollout, force):
        admin = _flag_admin(runtime)
        scope = _scope(enabled, regions, everywhere, rollout, force)
        flip = admin.set_enabled(name, enabled, actor or _default_actor(), scope)
        click.echo(
            f"{name}: {ON_OFF[flip.old]} -> {ON_OFF[flip.new]}{_scope_text(flip)} "
            f"[{admin.environment}, {admin.mode}]"
        )
        if flip.change:
            click.echo(f"  {flip.change}")

    return command


flags_enable = _flip_command(
    "enable", True,
    "Turn flag NAME on (a launch flag: release to every account, or with --region to those "
    "regions, with --rollout to that share of accounts).",
)  # fmt: skip
flags_disable = _flip_command(
    "disable", False,
    "Turn flag NAME off (a launch flag: roll back; with --region, close those regions).",
)  # fmt: skip


@flags.command("plan")
@click.argument("launch")
@click.option("--disable", is_flag=True, help="Plan a rollback instead of a launch.")
@_scope_options
@pass_runtime
def flags_plan(runtime, launch, disable, regions, everywhere, rollout, force):
    """What flipping LAUNCH (a launch's feature or launch flag) would change: who gains
    access, where, with how much sellable capacity. Changes nothing."""
    from cloudapi.flagging.plan import plan

    scope = _scope(not disable, regions, everywhere, rollout, force)
    for line in plan(_flag_admin(runtime), launch, not disable, scope):
        click.echo(line)


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
            f"{entry['at']}  {entry['flag']:<30} {change} {entry['environment']}"
            f"  by {entry['actor']}" + (f"  ({entry['change']})" if entry.get("change") else "")
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
