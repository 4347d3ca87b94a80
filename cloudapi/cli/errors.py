"""The one place where what a use case refuses becomes a CLI error (`Error: ...`, exit 1)."""

import click

from cloudapi.errors import CloudError


class TranslatingGroup(click.Group):
    """A group whose commands' refusals (`CloudError`, and any in `translates`) are click
    errors, printed as the operator reads them: each reason after its field.

    The root group is one, so every command is covered; a group adds what only its own
    commands expect (`db`: the migrations folder missing).
    """

    def __init__(self, *args, translates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.translates = (CloudError, *translates)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except self.translates as exc:
            raise click.ClickException(str(exc)) from None
