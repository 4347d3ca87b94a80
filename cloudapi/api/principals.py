"""A short-lived, per-process cache of who a token belongs to.

Resolving a token costs a database round trip; on a busy 2-core machine that round trip
is most of an authenticated request. Each process keeps the answer for
AUTH_CACHE_SECONDS (default 1 s), keyed by the token's SHA-256. Changes this process makes
to an account (tags, beta enrollments) forget that account's entries at once; changes made
elsewhere (another worker, the CLI) apply within AUTH_CACHE_SECONDS. 0 turns caching off.
"""

import threading
import time

from cloudapi.services import tokens

LIMIT = 50_000


class PrincipalCache:
    def __init__(self, database, seconds):
        self._database = database
        self._seconds = seconds
        self._entries = {}
        self._lock = threading.Lock()

    def lookup(self, token):
        """The principal fields for `token` (or None), from the cache when fresh."""
        if self._seconds <= 0:
            return tokens.lookup(self._database, token)
        key = tokens.digest(token)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        found = tokens.lookup(self._database, token)
        with self._lock:
            if len(self._entries) >= LIMIT:
                self._entries.clear()
            self._entries[key] = (found, now + self._seconds)
        return found

    def forget_account(self, account_id):
        with self._lock:
            stale = [k for k, (found, _) in self._entries.items()
                     if found and found["account_id"] == account_id]  # fmt: skip
            for key in stale:
                del self._entries[key]


def init_app(app):
    database = app.extensions["cloudapi.db"]
    app.extensions["cloudapi.principals"] = PrincipalCache(
        database, app.config["AUTH_CACHE_SECONDS"]
    )


def forget_account(app, account_id):
    app.extensions["cloudapi.principals"].forget_account(account_id)
