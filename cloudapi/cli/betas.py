"""`cloudapi betas`: betas that accounts can enroll in."""

import click

from cloudapi.cli.runtime import pass_runtime
from cloudapi.services import betas


@click.group("betas")
def betas_group():
    """Betas that accounts can enroll in (enrollment grants early access)."""


@betas_group.command("list")
@pass_runtime
def betas_list(runtime):
    runtime.echo_each(betas.all_betas, _beta_line)


def _beta_line(beta):
    return f"{beta.id:<20} {'open' if beta.is_open else 'closed':<7} {beta.label}"


def _set_beta(runtime, beta_id, is_open):
    betas.open_or_close(runtime.database, beta_id, is_open)
    click.echo(f"{beta_id}: {'open' if is_open else 'closed'}")


@betas_group.command("open")
@click.argument("beta_id")
@pass_runtime
def betas_open(runtime, beta_id):
    """Open BETA_ID for enrollment."""
    _set_beta(runtime, beta_id, True)


@betas_group.command("close")
@click.argument("beta_id")
@pass_runtime
def betas_close(runtime, beta_id):
    """Close BETA_ID to new enrollments (enrolled accounts keep it)."""
    _set_beta(runtime, beta_id, False)


COMMANDS = (betas_group,)
