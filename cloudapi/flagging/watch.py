"""The flag watcher: a flip or an account change reaches every worker well within 1 s.

Flag answers depend on rows other processes change: `flag_states` (a flip: `cloudapi flags
enable`, POST /admin/flags/...) and an account's tags and beta enrollments. Reading them
on every request would cost a query per request; reading them on the SDK's refresh
interval (10 s) made a launch show ~9 s after the flip. Instead each writer calls
`announce(session)` in the transaction of its change: it bumps the one row of
`flag_versions` and, on PostgreSQL, sends NOTIFY cloudapi_flags, which is delivered at
commit (never for a rolled-back change). One daemon thread per process learns of it:

* PostgreSQL: a connection of its own LISTENs, so it wakes within milliseconds. It also
  re-checks the version every RECHECK_SECONDS, in case a notification was lost, and
  reconnects after any failure, and after a change that no notification announced (a
  connection that stopped hearing: a proxy, a failover).
* SQLite, or a driver without LISTEN: it reads the version every POLL_SECONDS, a read of
  one row by primary key (SQLite has no notifications across processes).

When the version differs from the one last acted on, it calls its subscribers in order:
the flag client re-reads `flag_states` and hands them to the SDK, then forgets its memo;
the principal cache forgets its entries (tags and betas come with the principal). The
version is read before anything it guards, so a change committed in between is seen on
the next check rather than lost; a subscriber that fails leaves the version unseen, so
the next check tries again. docs/decisions.md 33.
"""

import functools
import logging
import threading
import time

from sqlalchemy import select, text, update

from cloudapi.db import outage
from cloudapi.db.flags import FlagVersion

log = logging.getLogger(__name__)

CHANNEL = "cloudapi_flags"
POLL_SECONDS = 0.2  # SQLite: a change is seen 0.1 s after commit on average, 0.2 s at most
RECHECK_SECONDS = 2.0  # PostgreSQL: the most a lost notification delays a change
WAKE_SECONDS = 0.05  # the longest one LISTEN wait: how soon stop() is obeyed (tests stop many)
WAIT_LIMIT = 5.0  # any other wait on the LISTEN connection (a server that went silent)
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # between attempts while the database is away
_UNSEEN = object()


def announce(session):
    """Tell every process's watcher, at commit, that flag answers may have changed.

    Call it last in the write transaction of the change: the version row is then always
    the last lock a writer takes, so writers queue on it but never deadlock.
    """
    bumped = session.execute(
        update(FlagVersion).where(FlagVersion.id == 1).values(version=FlagVersion.version + 1)
    )
    if bumped.rowcount == 0:  # a database whose row was removed by hand
        session.add(FlagVersion(id=1, version=1))
        session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def read_version(database):
    """The current version (None without the row), through the app's own pool and guards."""
    with database.reader() as session:
        return session.scalar(select(FlagVersion.version).where(FlagVersion.id == 1))


def listen_args(database, connect_timeout, statement_timeout):
    """psycopg keywords for the LISTEN connection, or None where the watcher must poll.

    The same server, user and options as the app's pool, with its timeouts and TCP
    keepalives (cloudapi/db/outage.py), so a dead connection is noticed and replaced.
    """
    engine = database.engine
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return None
    _, params = engine.dialect.create_connect_args(engine.url)
    options = params.pop("options", None)
    params.update(outage.postgres_connect_args(connect_timeout, statement_timeout, options))
    return params


@functools.cache
def _bounded_connection():
    import psycopg

    class BoundedConnection(psycopg.Connection):
        """A wait without a timeout of its own gives up after WAIT_LIMIT seconds.

        The app's guarded connections cannot LISTEN (their guard would close an idle
        wait), and a plain one could wait forever on a server behind a proxy that holds
        the bytes: the watcher would then never see a change again.
        """

        def wait(self, gen, *args, **kwargs):
            if len(args) < 2 and kwargs.get("timeout") is None:
                kwargs["timeout"] = WAIT_LIMIT
            return super().wait(gen, *args, **kwargs)

    return BoundedConnection


class _Deaf(Exception):
    """A re-check found a change that no notification announced."""


class FlagWatcher:
    """One process's watcher: calls its subscribers when the version changes."""

    def __init__(self, database, listen=None, poll_seconds=POLL_SECONDS,
                 recheck_seconds=RECHECK_SECONDS):  # fmt: skip
        """`listen`: psycopg keywords (see listen_args) to LISTEN with; None: poll."""
        self._database = database
        self._listen = listen
        self._poll, self._recheck = poll_seconds, recheck_seconds
        self._subscribers = []
        self._seen = _UNSEEN
        self._stop = threading.Event()
        self._thread = None
        self._failures = 0  # in a row: how long to wait before the next attempt
        self.changes = 0  # changes acted on, for tests and logs

    @property
    def mode(self):
        return "listen" if self._listen else "poll"

    def subscribe(self, callback):
        """Call `callback()` (in the watcher's thread) after each change, in subscription order."""
        self._subscribers.append(callback)

    def prime(self):
        """Take the version as it is now, before the state it guards is first read."""
        try:
            self._seen = read_version(self._database)
        except Exception as exc:  # unreadable: the first check acts, whatever it finds
            log.warning("flag watcher: version unavailable (%s)", exc)

    def start(self):
        self._thread = threading.Thread(target=self._run, name="flag-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout=1.0):
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def check(self):
        """Read the version; when it changed, call the subscribers. True if it changed."""
        version = read_version(self._database)
        if version == self._seen:
            return False
        for callback in self._subscribers:
            callback()  # one that raises leaves the version unseen: the next check retries
        self._seen = version
        self.changes += 1
        return True

    def _run(self):
        if self._listen:
            self._listen_loop()
        else:
            self._poll_loop()

    def _poll_loop(self):
        while not self._stop.wait(self._poll):
            try:
                self.check()
            except Exception as exc:
                self._failed(exc)
            else:
                self._recovered()

    def _listen_loop(self):
        while not self._stop.is_set():
            try:
                with _bounded_connection().connect(autocommit=True, **self._listen) as conn:
                    self._hear(conn)
            except _Deaf:
                log.info("flag watcher: a change came without a notification; reconnecting")
            except Exception as exc:
                self._failed(exc)
                self._stop.wait(RETRY_SECONDS[min(self._failures, len(RETRY_SECONDS)) - 1])

    def _hear(self, conn):
        """LISTEN, then check (what changed before LISTEN); wake on each notification."""
        conn.execute(f"LISTEN {CHANNEL}")
        self.check()
        self._recovered()
        recheck_at = time.monotonic() + self._recheck
        while not self._stop.is_set():
            wait = max(0.0, min(WAKE_SECONDS, recheck_at - time.monotonic()))
            notified = False
            for _ in conn.notifies(timeout=wait, stop_after=1):
                notified = True
            if notified:
                self.check()
                recheck_at = time.monotonic() + self._recheck
            elif time.monotonic() >= recheck_at:
                if self.check():
                    raise _Deaf()
                recheck_at = time.monotonic() + self._recheck

    def _failed(self, exc):
        """Log the first failure of a streak only: the database may be away for minutes."""
        if not self._failures:
            log.warning("flag watcher: %s; serving the last known flags, retrying", exc)
        self._failures += 1

    def _recovered(self):
        if self._failures:
            log.warning("flag watcher: the database answers again")
        self._failures = 0
