"""`cloudapi accounts`: customer accounts and their tags."""

import click

from cloudapi.cli.runtime import pass_runtime
from cloudapi.services import accounts


@click.group("accounts")
def accounts_group():
    """Customer accounts and their tags."""


@accounts_group.command("create")
@click.option("--email", required=True)
@click.option("--tag", "tags", multiple=True, help="A tag such as 'employee'; repeatable.")
@pass_runtime
def accounts_create(runtime, email, tags):
    """Create an account; print its id."""
    click.echo(accounts.open_account(runtime.database, email, tags).id)


@accounts_group.command("list")
@pass_runtime
def accounts_list(runtime):
    """List accounts with their tags."""
    for a in accounts.search(runtime.database):
        click.echo(f"{a.id}\t{a.email}\t{','.join(a.tags)}")


def _tag_command(name, change, help, no_tags=""):
    """`accounts tag` and `accounts untag`: change(database, id, tag), then the tags left."""

    @accounts_group.command(name, help=help)
    @click.argument("account_id", type=int)
    @click.argument("tag")
    @pass_runtime
    def command(runtime, account_id, tag):
        tags = change(runtime.database, account_id, tag).tags
        click.echo(f"account {account_id} tags: {', '.join(tags) or no_tags}")

    return command


accounts_tag = _tag_command("tag", accounts.add_tag, "Add TAG to an account.")
accounts_untag = _tag_command(
    "untag", accounts.remove_tag, "Remove TAG from an account.", no_tags="(none)"
)

COMMANDS = (accounts_group,)
