"""The one place where what a use case refuses becomes a CLI error (`Error: ...`, exit 1)."""

import click

from cloudapi.errors import ApiError
from cloudapi.flagging.admin import FlagError
from cloudapi.inventory.discover import DiscoveryError
from cloudapi.services.accounts import AccountError
from cloudapi.services.betas import BetaError
from cloudapi.services.hosts import HostError
from cloudapi.services.tokens import ScopeError

DOMAIN_ERRORS = (AccountError, BetaError, DiscoveryError, FlagError, HostError, ScopeError)


def message(exc):
    """The error as an operator reads it: an ApiError's reasons, each after its field."""
    if isinstance(exc, ApiError):
        return "; ".join(f"{e.get('field', '')}: {e['reason']}" for e in exc.errors)
    return str(exc)


class TranslatingGroup(click.Group):
    """A group whose commands' domain errors (and any in `translates`) are click errors.

    The root group is one, so every command is covered; a group adds what only its own
    commands expect (`db`: the migrations folder missing).
    """

    def __init__(self, *args, translates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.translates = (*DOMAIN_ERRORS, ApiError, *translates)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except self.translates as exc:
            raise click.ClickException(message(exc)) from None
