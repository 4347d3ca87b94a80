"""`cloudapi serve` (the API under gunicorn) and `cloudapi up` (the whole product)."""

import os
import sys

import click

from cloudapi.cli.runtime import pass_runtime

GUNICORN_MAX_REQUEST_LINE = 8190  # gunicorn refuses a larger --limit-request-line


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
def serve(host, port, workers, threads):
    """Serve the API with gunicorn (each worker builds its own app after fork).

    Metrics count across workers (Prometheus multiprocess mode): a metrics folder is set
    up before gunicorn starts, and the hooks in observability/gunicorn_conf.py keep it.
    """
    from cloudapi.observability import gunicorn_conf

    gunicorn_conf.prepare()
    args = [
        sys.executable, "-m", "gunicorn", "cloudapi:create_app()",
        "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
        "--access-logfile", "-", "--graceful-timeout", "5", *gunicorn_limits(),
        "--logger-class", "cloudapi.api.access_log.JsonLogger",  # JSON lines (tracing.py)
        "--config", gunicorn_conf.__file__,  # metrics across workers (gunicorn_conf.py)
    ]  # fmt: skip
    os.execv(sys.executable, args)


def gunicorn_limits(config=None):
    """gunicorn's request limits, each well above the app's own (cloudapi/api/limits.py).

    gunicorn answers what breaks its limits with an HTML page (414, 431, 400) that no
    Linode client can read. With theirs set above ours, a request between the two gets
    our JSON 414/431, and only one past gunicorn's (a URL over 8 KiB, a header over 4x
    MAX_HEADER_BYTES, or twice MAX_HEADER_COUNT headers) can still meet gunicorn's page.
    """
    from cloudapi import config as config_module

    config = config or {**config_module.DEFAULTS, **config_module.from_environ()}
    if config["MAX_URL_BYTES"] > GUNICORN_MAX_REQUEST_LINE - 32:  # "DELETE <url> HTTP/1.1"
        click.echo("warning: MAX_URL_BYTES is above what gunicorn accepts", err=True)
    return [
        "--limit-request-line", str(GUNICORN_MAX_REQUEST_LINE),
        "--limit-request-fields", str(2 * config["MAX_HEADER_COUNT"]),
        "--limit-request-field_size", str(4 * config["MAX_HEADER_BYTES"]),
    ]  # fmt: skip


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@pass_runtime
def up(runtime, host, port, workers):
    """Run the whole product: the API (gunicorn), a relay and one agent per host and pool.

    It serves plain HTTP: on a loopback address the console's cookie is not marked Secure
    (unless SESSION_COOKIE_SECURE says otherwise), so a browser on this machine can log in.
    """
    from cloudapi.cli import stack

    if host in ("127.0.0.1", "localhost", "::1"):
        os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
    raise SystemExit(stack.run(runtime.app(), host, port, workers))


COMMANDS = (serve, up)
