"""The framework's ceiling: a bare Flask app that serves fixed bytes at /v4/linode/types.

bench/servers.py fetches the real server's `GET /v4/linode/types` body, writes it to a
file, and serves this app under the same gunicorn settings with BENCH_BARE_BODY naming
that file:

    BENCH_BARE_BODY=/tmp/types.json python -m gunicorn --pythonpath bench \
        'bare_app:create_app()' --bind 127.0.0.1:8001 --workers 2 --threads 4

No database, no auth, no blueprints: one route that returns the same bytes with the same
Content-Type, so the gap between it and the real app is what cloudapi adds per request.
"""

import os

from flask import Flask


def create_app(body_path=None):
    """The one-route app; the body is read once, so serving costs nothing but Flask."""
    path = body_path or os.environ["BENCH_BARE_BODY"]
    with open(path, "rb") as fh:
        body = fh.read()

    app = Flask(__name__, static_folder=None)

    @app.get("/v4/linode/types")
    def list_types():
        return app.response_class(body, status=200, mimetype="application/json")

    return app
