"""Bounded waits on PostgreSQL, and telling "the database is unreachable" from a bug.

Without limits a request whose server stops answering waits for the kernel to give up on
the TCP connection (minutes); every worker thread ends up waiting and even endpoints
served from memory stop answering. So each connection gets:

* ``connect_timeout``: an unanswered connection attempt fails after that many seconds;
* ``statement_timeout`` (server side): a slow statement, lock waits included, is
  cancelled by the server;
* a read guard (client side): when no answer at all arrives within the statement
  timeout plus the connect timeout, the server is not slow but gone (blackholed,
  frozen, partitioned), so the connection is closed and the query fails. TCP keepalives
  and ``tcp_user_timeout`` do the same in the kernel for a peer that stops
  acknowledging; the read guard also covers a peer whose kernel still acknowledges (a
  stopped process, a proxy that holds the bytes).

Once the server has been found unreachable, new connections fail at once for
``FAIL_FAST_SECONDS`` and then one attempt at a time probes it (a small circuit
breaker): during an outage a request costs microseconds rather than a connect timeout,
so requests that do not need the database are not queued behind those that do.
"""

import functools
import math
import sqlite3
import threading
import time

from sqlalchemy import event
from sqlalchemy import exc as sa_exc

FAIL_FAST_SECONDS = 1.0
# PostgreSQL errors that mean "unavailable for now": connection exceptions (08),
# insufficient resources (53), shutdown/recovery/cannot connect now, the statement and
# lock timeouts. Anything else (a constraint, a syntax error, a missing table) is a bug.
_UNAVAILABLE_CLASSES = ("08", "53")
_UNAVAILABLE_CODES = {"57014", "57P01", "57P02", "57P03", "57P05", "55P03"}
_SQLITE_UNAVAILABLE = {"SQLITE_BUSY", "SQLITE_LOCKED"}


def is_unavailable(exc):
    """True when `exc` says the database cannot answer now (a 503), not that a query is wrong.

    Pool exhaustion, invalidated (dropped) connections, client-side connection failures
    (psycopg gives them no SQLSTATE), the server-side codes above, and a busy SQLite;
    both as SQLAlchemy raises them and as the DBAPI does (code on a raw connection).
    """
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return isinstance(exc, sa_exc.OperationalError) and _unavailable(exc.orig)
    return isinstance(exc, _dbapi_operational_errors()) and _unavailable(exc)


def _unavailable(orig):
    """For a DBAPI OperationalError: the server is gone, busy or too slow (not a bug)."""
    if isinstance(orig, sqlite3.Error):
        return getattr(orig, "sqlite_errorname", None) in _SQLITE_UNAVAILABLE
    code = getattr(orig, "sqlstate", None)
    if code is None:
        return type(orig).__module__.startswith("psycopg")
    return code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_CODES


@functools.cache
def _dbapi_operational_errors():
    try:
        import psycopg
    except ImportError:  # SQLite only
        return (sqlite3.OperationalError,)
    return (sqlite3.OperationalError, psycopg.OperationalError)


class Breaker:
    """Fail new connections fast while the server is known to be unreachable.

    Closed (healthy) until a connection attempt fails or a read guard fires; then open
    for `cooldown` seconds, during which connection attempts fail at once; after that one
    attempt at a time goes through (the others still fail fast), and its success closes
    the breaker again. A connection that the server merely dropped does not open it.
    """

    def __init__(self, cooldown=FAIL_FAST_SECONDS):
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._open_until = None
        self._probing = False

    def before_connect(self):
        """Raise if a connection attempt should not be made now; else claim the attempt."""
        with self._lock:
            if self._open_until is None:
                return
            if self._probing or time.monotonic() < self._open_until:
                raise _unreachable("database unreachable: failing fast after a recent failure")
            self._probing = True

    def failed(self):
        with self._lock:
            self._open_until = time.monotonic() + self.cooldown
            self._probing = False

    def succeeded(self):
        with self._lock:
            self._open_until = None
            self._probing = False


def _unreachable(message):
    import psycopg

    return psycopg.OperationalError(message)


def postgres_connect_args(connect_timeout, statement_timeout, options=None):
    """libpq parameters for the timeouts (seconds; 0 turns one off) and the TCP guards."""
    args = {}
    if connect_timeout:
        args["connect_timeout"] = max(1, math.ceil(connect_timeout))
    if statement_timeout:
        setting = f"-c statement_timeout={int(statement_timeout * 1000)}"
        args["options"] = f"{options} {setting}" if options else setting
        guard = read_timeout(connect_timeout, statement_timeout)
        args.update(keepalives=1, keepalives_idle=max(1, int(guard)), keepalives_interval=1,
                    keepalives_count=3, tcp_user_timeout=int(guard * 1000))  # fmt: skip
    return args


def read_timeout(connect_timeout, statement_timeout):
    """How long to wait for any answer: the server would have cancelled the statement."""
    if not statement_timeout:
        return None
    return statement_timeout + max(connect_timeout or 0, 1.0)


class PostgresGuard:
    """One engine's guards: the read guard, the breaker, and retiring suspect connections.

    When one connection is found dead (the server closed it, or it stopped answering), the
    others opened before it most likely are too: they are not handed out again but
    replaced on checkout, so that once the server is back no request trips over a
    connection left from before the outage. (SQLAlchemy does this by itself for errors it
    sees; this also covers code that uses the DBAPI connection directly.)
    """

    def __init__(self, connect_timeout, statement_timeout, cooldown=FAIL_FAST_SECONDS):
        self.breaker = Breaker(cooldown)
        self.read_timeout = read_timeout(connect_timeout, statement_timeout)
        self._lost_at = float("-inf")
        self._connection_class = _guarded_connection_class(self)

    def install(self, engine):
        event.listen(engine, "do_connect", self._connect)
        event.listen(engine, "checkout", self._checkout)

    def lost(self, unanswered=False):
        """A connection died; `unanswered`: it timed out, so the server is unreachable."""
        self._lost_at = time.monotonic()
        if unanswered:
            self.breaker.failed()

    def _connect(self, _dialect, record, cargs, cparams):
        self.breaker.before_connect()
        try:
            conn = self._connection_class.connect(*cargs, **cparams)
        except BaseException:
            self.breaker.failed()
            raise
        self.breaker.succeeded()
        record.info["opened_at"] = time.monotonic()
        return conn

    def _checkout(self, _dbapi_conn, record, _proxy):
        opened_at = record.info.get("opened_at")
        if opened_at is not None and opened_at < self._lost_at:
            raise sa_exc.DisconnectionError("opened before a connection was lost")


def _guarded_connection_class(guard):
    import psycopg

    class GuardedConnection(psycopg.Connection):
        """Every wait on the server (queries, commits, rollbacks) ends after the guard's time.

        A wait given its own timeout keeps it; one without (e.g. `notifies()` forever) gets
        the guard's, so a connection meant to LISTEN indefinitely must not come from here.
        """

        def wait(self, gen, *args, **kwargs):
            timeout = guard.read_timeout
            if timeout is None or len(args) > 1 or kwargs.get("timeout") is not None:
                return self._wait(gen, *args, **kwargs)
            try:
                return self._wait(gen, *args, timeout=timeout, **kwargs)
            except psycopg.errors._WaitTimeout:
                # The protocol state is unknown: the connection cannot be used again.
                self.pgconn.finish()
                guard.lost(unanswered=True)
                raise _unreachable(f"no answer from the database within {timeout:g} s") from None

        def _wait(self, gen, *args, **kwargs):
            try:
                return super().wait(gen, *args, **kwargs)
            except psycopg.errors._WaitTimeout:
                raise
            except psycopg.OperationalError:
                if self.closed:  # dropped by the server or the network, not a failed query
                    guard.lost()
                raise

    return GuardedConnection
