"""What one invocation of `cloudapi` shares: the app, built at most once, on first use."""

import click


class Runtime:
    """Kept on the root `click.Context.obj`; a command that needs no app builds none."""

    def __init__(self, app=None):
        self._app = app
        self._flags = None if app is None else app.config["FLAGS_ENABLED"]

    def app(self, flags=False):
        """The app as configured by the environment; flags only for commands that read them."""
        if self._app is None:
            from cloudapi import create_app

            self._app, self._flags = create_app({"FLAGS_ENABLED": flags}), flags
        elif flags != self._flags:
            raise RuntimeError(f"the app is already built with FLAGS_ENABLED={self._flags}")
        return self._app

    @property
    def config(self):
        return self.app().config

    @property
    def database(self):
        return self.app().extensions["cloudapi.db"]

    def echo_each(self, listing, line, *args):
        """Print line(row) for each row that listing(session, *args) reads."""
        with self.database.reader() as session:
            for row in listing(session, *args):
                click.echo(line(row))


pass_runtime = click.make_pass_decorator(Runtime, ensure=True)
