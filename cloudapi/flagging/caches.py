"""Caches the Unleash SDK reads flag state from.

`BootstrapCache` holds flags/ until the server's answer replaces it (server mode).
`LocalStateCache` is the embedded default: flags/ with the state stored in our database
(on/off, regions, rollout), read once at start and then again by `refresh()` when the
flag watcher (cloudapi/flagging/watch.py) learns of a change. Its `get` never touches the
database: the SDK calls it on every reload (each refresh interval), and a read there would
both cost a query per interval per worker and still leave a flip up to that interval late.
"""

import json
import logging
import threading

from sqlalchemy import select
from UnleashClient.cache import BaseCache
from UnleashClient.constants import FEATURES_URL

from cloudapi.db.flags import FlagState
from cloudapi.flagging import definitions

log = logging.getLogger(__name__)


class BootstrapCache(BaseCache):
    """An in-memory cache seeded with the flags file."""

    def __init__(self, doc):
        self._values = {FEATURES_URL: json.dumps(doc)}
        self._lock = threading.Lock()
        self.bootstrapped = True

    def set(self, key, value):
        with self._lock:
            self._values[key] = value

    def mset(self, data):
        with self._lock:
            self._values.update(data)

    def get(self, key, default=None):
        with self._lock:
            return self._values.get(key, default)

    def current(self):
        """The flags document the SDK last loaded (JSON text), without touching a source."""
        with self._lock:
            return self._values.get(FEATURES_URL)

    def exists(self, key):
        with self._lock:
            return key in self._values

    def destroy(self):
        with self._lock:
            self._values.clear()


def stored_states(session):
    """Each stored flag's Setting (on/off, regions, rollout)."""
    return {
        s.name: definitions.Setting(
            s.enabled, tuple(s.regions) if s.regions is not None else None, s.rollout
        )
        for s in session.scalars(select(FlagState))
    }


class LocalStateCache(BootstrapCache):
    """The flags file, with each flag's state as last read from the database."""

    def __init__(self, doc, database):
        super().__init__(doc)
        self._doc = doc
        self._database = database
        try:
            self.refresh()
        except Exception as exc:  # the watcher reads it again once the database answers
            log.warning("flag state unavailable (%s); serving flags/ until it is", exc)

    def refresh(self):
        """Read the stored state now; raises when the database cannot answer, leaving the
        last known flags in place (the watcher retries on its next check)."""
        with self._database.reader() as session:
            states = stored_states(session)
        self.set(FEATURES_URL, json.dumps(definitions.with_states(self._doc, states)))
