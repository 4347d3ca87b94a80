"""The probe server's app: the real app, with each request's SQL counted in a header.

bench/probe.py serves this (one worker, one thread) on the same database as the real
server, sends each scenario's request to it a few dozen times, one at a time, and reads
the X-Bench-SQL header of each response:

    <statements> <rows returned> <rows written> <statements SQLAlchemy saw>

Counts are kept per thread, for the thread that serves the request, so the flag
watcher's and other background threads' queries are not counted.

Two hooks count, because the app does not send everything through SQLAlchemy: its hot
reads (cloudapi/db/reads.py) and the token lookup run on the pooled DBAPI connection,
where SQLAlchemy's engine events never fire. So the first three figures come from
psycopg itself: Cursor.execute and Cursor.executemany (Connection.execute goes through
them) are wrapped in this process. A statement returns rows when it has a result (a
SELECT, a RETURNING; cursor.rowcount of them); it writes rows when its status is INSERT,
UPDATE, DELETE or MERGE (cursor.rowcount). The fourth figure is SQLAlchemy's
after_cursor_execute events, on every Engine of the process: the gap between the two is
what runs beside SQLAlchemy. BEGIN and COMMIT, which psycopg sends on its own, are in
neither; SAVEPOINTs and advisory locks are statements like any other.

The measured real server runs without any of this: counting costs a few microseconds per
statement, and it would be counted against the app in its ratio to the ceiling. Nothing
in cloudapi/ changes; BENCH_REAL_APP names the app spec to wrap (--app).
"""

import functools
import os
import threading

import psycopg
from gunicorn.util import import_app
from sqlalchemy import event
from sqlalchemy.engine import Engine

HEADER = "X-Bench-SQL"
_WRITES = {"INSERT", "UPDATE", "DELETE", "MERGE"}
_local = threading.local()


def _tally(cursor):
    """Count one statement that `cursor` just ran, if this thread is counting."""
    counts = getattr(_local, "counts", None)
    if counts is None:
        return
    rows = max(cursor.rowcount, 0)
    counts[0] += 1
    if cursor.description is not None:
        counts[1] += rows
    status = (cursor.statusmessage or "").split(" ", 1)[0]
    if status in _WRITES:
        counts[2] += rows


def _counting(method):
    @functools.wraps(method)
    def run(cursor, *args, **kwargs):
        result = method(cursor, *args, **kwargs)
        _tally(cursor)
        return result

    return run


def _engine_event(conn, cursor, statement, parameters, context, executemany):
    counts = getattr(_local, "counts", None)
    if counts is not None:
        counts[3] += 1


def install():
    """Count from here on, in this process (once)."""
    if getattr(psycopg.Cursor.execute, "_bench_counting", False):
        return
    for name in ("execute", "executemany"):
        wrapped = _counting(getattr(psycopg.Cursor, name))
        wrapped._bench_counting = True
        setattr(psycopg.Cursor, name, wrapped)
    event.listen(Engine, "after_cursor_execute", _engine_event)


def counted(wsgi_app):
    """`wsgi_app` with the counts of each request added to its response's headers.

    Flask calls start_response once the view has returned (its transaction committed),
    so the counts are complete by then.
    """

    def app(environ, start_response):
        counts = _local.counts = [0, 0, 0, 0]

        def respond(status, headers, exc_info=None):
            return start_response(status, [*headers, (HEADER, " ".join(map(str, counts)))],
                                  exc_info)  # fmt: skip

        try:
            return wsgi_app(environ, respond)
        finally:
            _local.counts = None

    return app


def create_app():
    install()
    app = import_app(os.environ.get("BENCH_REAL_APP", "cloudapi:create_app()"))
    app.wsgi_app = counted(app.wsgi_app)
    return app
