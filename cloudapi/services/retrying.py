"""One write transaction, run again when a concurrent writer inserted the same key first."""

from sqlalchemy.exc import IntegrityError

ATTEMPTS = 3


def write(database, work, attempts=ATTEMPTS):
    """Return work(session), run in its own transaction.

    Upserts (settings, preferences, tags) read "is there a row?" and insert if not; on
    PostgreSQL two such requests at once both see no row, and the second insert fails on
    the primary key once the first commits. Running the work again then sees that row, so
    the loser updates instead of answering 500. SQLite serialises writers and never races.
    """
    for attempt in range(attempts):
        try:
            with database.transaction() as session:
                return work(session)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
