"""A short-lived, per-process cache of who a token belongs to.

Resolving a token costs a database round trip; on a busy 2-core machine that round trip
is most of an authenticated request. Each process keeps the answer for
AUTH_CACHE_SECONDS (default 1 s), keyed by the token's SHA-256. Changes this process makes
to an account (tags, beta enrollments) forget that account's entries at once; changes made
elsewhere (another worker, the CLI) are announced to the flag watcher
(cloudapi/flagging/watch.py), which has every entry forgotten within a fraction of a
second: tags and betas decide early access, and a launch must not wait on this cache.
Without flags (FLAGS_ENABLED=False, no watcher) they apply within AUTH_CACHE_SECONDS.
0 turns caching off.
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
        entries = self._entries  # taken first: a lookup racing forget_all stores nothing
        hit = entries.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        found = tokens.lookup(self._database, token)
        with self._lock:
            if len(entries) >= LIMIT:
                entries.clear()
            entries[key] = (found, now + self._seconds)
        return found

    def forget_account(self, account_id):
        with self._lock:
            entries = self._entries
            stale = [k for k, (found, _) in entries.items()
                     if found and found["account_id"] == account_id]  # fmt: skip
            for key in stale:
                del entries[key]

    def forget_all(self):
        """Forget every entry: another process changed some account's tags or betas.

        A new dict, so that a lookup that read the database before the change and ends
        after this stores its answer where no later request looks.
        """
        with self._lock:
            self._entries = {}


def init_app(app):
    database = app.extensions["cloudapi.db"]
    cache = PrincipalCache(database, app.config["AUTH_CACHE_SECONDS"])
    app.extensions["cloudapi.principals"] = cache
    watcher = app.extensions.get("cloudapi.flag_watcher")  # flags.init_app runs first
    if watcher is not None:
        watcher.subscribe(cache.forget_all)


def forget_account(app, account_id):
    app.extensions["cloudapi.principals"].forget_account(account_id)
