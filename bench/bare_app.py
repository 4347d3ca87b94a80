"""The bare-bytes ceilings: a bare Flask app that serves, per scenario, the exact bytes the
real app answered.

bench/servers.py fetches each read scenario's body from the real server (types, a page of
100 instances, a page of 100 events, one instance, ...), writes the bodies to files and a
manifest naming them, and serves this app under the same gunicorn settings with
BENCH_BARE_ROUTES naming the manifest:

    BENCH_BARE_ROUTES=/tmp/routes.json python -m gunicorn --pythonpath bench \
        'bare_app:create_app()' --bind 127.0.0.1:8001 --workers 2 --threads 4

Each real path is a route here; the scenario is told apart by the raw query string
(`?bench=<scenario>`: two scenarios read one path, e.g. the instance list of two
accounts), without parsing it. No database, no auth, no blueprints, no JSON encoding: the
gap between this and the real app is what cloudapi adds to serve those bytes.
"""

import json
import os

from flask import Flask, request


def create_app(manifest_path=None):
    """The app; every body is read once, so serving costs nothing but Flask and gunicorn.

    The manifest is a list of {"path", "query", "file", "content_type"}.
    """
    with open(manifest_path or os.environ["BENCH_BARE_ROUTES"]) as fh:
        routes = json.load(fh)
    app = Flask(__name__, static_folder=None)
    by_path = {}
    for route in routes:
        with open(route["file"], "rb") as fh:
            body = fh.read()
        by_path.setdefault(route["path"], {})[route["query"].encode()] = (
            body,
            route["content_type"],
        )

    def serve_from(bodies):
        def serve():
            found = bodies.get(request.query_string)
            if found is None:
                return app.response_class(b"unknown scenario\n", status=404)
            return app.response_class(found[0], status=200, content_type=found[1])

        return serve

    for n, (path, bodies) in enumerate(by_path.items()):
        app.add_url_rule(path, f"bare_{n}", serve_from(bodies))
    app.add_url_rule("/ready", "ready", lambda: "ok")
    return app
