"""The `cloudapi` operator command: a root group and one module per command group.

The app is built once per invocation, by the first command helper that asks for it, and
kept on click's context (runtime.py); domain errors become CLI errors in errors.py.
"""

import click

from cloudapi.cli import accounts, agent_keys, betas, db, demo, flags, hosts, jobs, serve, tokens
from cloudapi.cli.errors import TranslatingGroup
from cloudapi.cli.runtime import Runtime


@click.group(cls=TranslatingGroup)
@click.pass_context
def main(ctx):
    """Operate cloudapi: database, accounts, tokens, demo data and the API server."""
    ctx.ensure_object(Runtime)


for _module in (db, serve, accounts, tokens, flags, betas, hosts, jobs, agent_keys, demo):
    for _command in _module.COMMANDS:
        main.add_command(_command)
