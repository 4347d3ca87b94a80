"""Linode's rate limits, counted with `limits` in fixed windows (docs/decisions.md 24, 42).

Three budgets, each a limit per key in `RATELIMIT_STORAGE_URI`:
- the general budget (`RATE_LIMIT`) per caller (its token, hashed; else its address) on
  /v4 and /v4beta, which share it;
- the create budget (`RATE_LIMIT_CREATE`) per caller on `POST .../linode/instances`;
- the failed-authentication budget (`RATE_LIMIT_AUTH_FAILURES`) per client address on
  every surface but health: only requests whose token resolves to no one spend it, and
  past it every request from that address that presents a token gets 429 (so that tokens
  cannot be guessed at request speed; anonymous requests are left alone).

Why not Flask-Limiter, which this used to be: its request hook works out which of its
limits apply to each request (application, blueprint and route limits, exemption
scopes), about 0.4 ms a request, more than half of what the app adds to a bare Flask app
serving the same bytes. Here the three budgets are known at start-up and a request spends
one or two counters; `limits` (Flask-Limiter's own counting library, same storage, same
keys' shape) does the counting.

`memory://` counts in each process (the embedded default); `redis://...` shares the
counters between every worker of every server, and Redis's atomic increments make each
budget exact. Should the storage fail, this process counts in memory until a check (at
growing intervals, as Flask-Limiter did) finds it answering again: limits get looser, the
API stays up.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

# Scopes of the budgets (part of each counter's key, and the metrics' `budget` label).
ALL, CREATE, AUTH_FAILURES = "v4", "v4-create", "auth-failures"
# A storage that does not answer within this long counts as down (then: per-process).
STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
# While the storage is down it is checked again after 1, 2, 4 ... 64 s, then from 1 again.
MAX_RECHECK_EXPONENT = 6


def parse_limit(text):
    """ "800/120" -> (800 requests, 120 seconds); "off" or "" -> None."""
    if not text or text.strip().lower() in ("off", "0", "none"):
        return None
    count, _, seconds = text.partition("/")
    return int(count), int(seconds or 60)


@dataclass(frozen=True)
class Budget:
    scope: str
    item: RateLimitItemPerSecond

    @classmethod
    def of(cls, scope, text):
        """The budget `text` ("800/120") configures, or None when it is off."""
        parsed = parse_limit(text)
        return None if parsed is None else cls(scope, RateLimitItemPerSecond(*parsed))

    @property
    def amount(self):
        return self.item.amount


@dataclass(frozen=True)
class Spent:
    """One count of one budget for one key: whether the request was within it."""

    budget: Budget
    key: str
    within: bool


class Counters:
    """The budgets' counters in the configured storage, with the per-process fallback."""

    def __init__(self, uri, prefix, options=None):
        self._storage = storage_from_string(uri, **(options or {}))
        self._main = FixedWindowRateLimiter(self._storage)
        self._fallback = None if isinstance(self._storage, MemoryStorage) else (
            FixedWindowRateLimiter(MemoryStorage()))  # fmt: skip
        self._prefix = prefix
        self._lock = threading.Lock()
        self._dead_since = None
        self._checks = 0
        self._last_check = 0.0

    def hit(self, budget, key):
        """Spend one of `budget` for `key`."""
        return Spent(budget, key, self._call("hit", budget, key))

    def test(self, budget, key):
        """Whether `key` has some of `budget` left, spending none."""
        return Spent(budget, key, self._call("test", budget, key))

    def window(self, spent):
        """(remaining, reset time in epoch seconds) of the window `spent` was counted in."""
        stats = self._call("get_window_stats", spent.budget, spent.key)
        return stats.remaining, stats.reset_time

    def retry_after(self, spent):
        """Whole seconds until the window ends; at least 1, so a client never spins."""
        try:
            return max(1, math.ceil(self.window(spent)[1] - time.time()))
        except Exception:
            return 1

    def _call(self, method, budget, key):
        identifiers = (self._prefix, key, budget.scope)
        limiter = self._limiter()
        try:
            return getattr(limiter, method)(budget.item, *identifiers)
        except Exception:
            if limiter is not self._main or self._fallback is None:
                raise
            log.warning("Rate limit storage unreachable - counting in this process")
            with self._lock:
                self._dead_since, self._last_check = time.time(), time.time()
            return getattr(self._fallback, method)(budget.item, *identifiers)

    def _limiter(self):
        if self._dead_since is None:
            return self._main
        with self._lock:
            due = time.time() - self._last_check > 2**self._checks
            if due:
                self._last_check = time.time()
                self._checks = 0 if self._checks >= MAX_RECHECK_EXPONENT else self._checks + 1
        if due and self._storage_answers():
            log.info("Rate limit storage recovered")
            with self._lock:
                self._dead_since, self._checks = None, 0
            return self._main
        return self._fallback

    def _storage_answers(self):
        try:
            return bool(self._storage.check())
        except Exception:
            return False
