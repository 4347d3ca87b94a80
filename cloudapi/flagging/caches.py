"""Caches the Unleash SDK reads flag state from.

`BootstrapCache` holds flags/ until the server's answer replaces it (server mode).
`LocalStateCache` is the embedded default: flags/ with the on/off state stored in our
database, re-read each time the SDK reloads (every refresh interval), so a flip made by
`cloudapi flags enable` reaches every running process without a restart.
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

    def exists(self, key):
        with self._lock:
            return key in self._values

    def destroy(self):
        with self._lock:
            self._values.clear()


def stored_states(session):
    return {s.name: s.enabled for s in session.scalars(select(FlagState))}


class LocalStateCache(BootstrapCache):
    """The flags file, with each flag's on/off state as stored in the database."""

    def __init__(self, doc, database):
        super().__init__(doc)
        self._doc = doc
        self._database = database

    def get(self, key, default=None):
        if key != FEATURES_URL:
            return super().get(key, default)
        try:
            with self._database.reader() as session:
                states = stored_states(session)
        except Exception as exc:
            log.warning("flag state unavailable (%s); serving the last known flags", exc)
            return super().get(key, default)
        value = json.dumps(definitions.with_states(self._doc, states))
        super().set(key, value)
        return value
