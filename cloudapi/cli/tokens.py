"""`cloudapi tokens`: API tokens, shown once and stored hashed."""

import click

from cloudapi.cli.runtime import pass_runtime
from cloudapi.services import tokens


@click.group("tokens")
def tokens_group():
    """API tokens (shown once, stored hashed)."""


@tokens_group.command("create")
@click.option("--account", "account_id", type=int, help="The account the token acts for.")
@click.option("--admin", is_flag=True, help="Create an admin token instead.")
@click.option("--host", help="Create a host agent's token for HOST (reaches /internal only).")
@click.option("--scopes", default="*", show_default=True, help='e.g. "linodes:read_only"')
@click.option("--label", default="")
@pass_runtime
def tokens_create(runtime, account_id, admin, host, scopes, label):
    """Create a token and print it (it cannot be shown again)."""
    if [account_id is not None, admin, host is not None].count(True) != 1:
        raise click.UsageError("give exactly one of --account ID, --admin or --host HOST")
    token = tokens.issue(
        runtime.database,
        account_id=account_id,
        is_admin=admin,
        host=host,
        scopes=scopes,
        label=label,
    )
    click.echo(token)


COMMANDS = (tokens_group,)
