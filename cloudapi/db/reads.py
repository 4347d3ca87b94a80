"""Running the hot GETs' one statement: the instance list and one instance, the events page.

On PostgreSQL a read that is one statement needs no transaction (one statement is one
snapshot), so it runs in autocommit: a reader session's BEGIN and ROLLBACK would be two
more round trips than the query itself. A statement built once and kept (row_pages.Shapes)
is also compiled once here and run on the pooled DBAPI connection, as the token lookup
is (cloudapi/services/tokens.py): SQLAlchemy's execution and result machinery cost more
than the query on a page of 100 Linodes, and these statements need none of it, since
psycopg hands back every type they select as SQLAlchemy would (datetimes, booleans,
lists, text) and they bind only integers, text and datetimes, which psycopg adapts.

SQLite keeps SQLAlchemy: its datetimes and booleans need SQLAlchemy's result processing,
its explicit BEGIN (cloudapi/db/__init__.py) costs no round trip, and SQLAlchemy's
isolation-level reset on return would undo that setup.
"""

from contextlib import contextmanager


@contextmanager
def connection(database):
    """Yield a Core connection for reads; nothing it does is committed."""
    with database.engine.connect() as conn:
        if not database.is_sqlite:  # client-side only with psycopg: no round trip
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def fetch(database, statement, params, compiled=None):
    """All rows of `statement` with `params`, as sequences (by position).

    `compiled`: a dict kept with a statement that is itself kept, where its compiled
    form for each dialect is cached; without one the statement runs through SQLAlchemy
    (whose own cache compiles each shape once). So it does while anything watches the
    engine's statements (a listener, as tests that count queries use, or SQL_ECHO): what
    runs must stay visible.
    """
    engine = database.engine
    watched = engine.echo or bool(engine.dispatch.before_cursor_execute)
    if database.is_sqlite or compiled is None or watched:
        with connection(database) as conn:
            return conn.execute(statement, params).all()
    dialect = engine.dialect
    found = compiled.get(dialect.name)
    if found is None:
        found = compiled[dialect.name] = statement.compile(dialect=dialect)
    return _run(database, found.string, found.construct_params(params))


def _run(database, sql, params):
    raw = database.engine.raw_connection()
    driver = raw.driver_connection
    try:
        driver.autocommit = True  # no BEGIN, no ROLLBACK
        try:
            return driver.execute(sql, params).fetchall()
        finally:
            if not driver.closed:
                driver.autocommit = False
    except BaseException:
        if driver.closed:  # dropped, or closed by the read guard: not back into the pool
            raw.invalidate()
        raise
    finally:
        raw.close()
