"""`--health-port` and `--health-host`, shared by `cloudapi relay` and `cloudapi agent`."""

import click


def health_port_options(command):
    """Add both options; the command takes `health_host` and `health_port` (None: no port)."""
    command = click.option(
        "--health-port", type=click.IntRange(0, 65535),
        help="Serve /healthz, /readyz and /metrics on this port (0: any free one).",
    )(command)  # fmt: skip
    return click.option(
        "--health-host", default="127.0.0.1", show_default=True,
        help="The address the health port listens on.",
    )(command)  # fmt: skip


def health(host, port):
    """(host, port) for the health port, or None when none was asked for."""
    return None if port is None else (host, port)
