"""Configuration: defaults in code, overridden from the environment."""

import os

DEFAULTS = {
    # None means "a SQLite file in the app's instance folder", resolved by create_app.
    "DATABASE_URL": None,
    "CATALOG_TTL": 30.0,
    "SQL_ECHO": False,
}

_CASTS = {"CATALOG_TTL": float, "SQL_ECHO": lambda v: v.lower() in ("1", "true", "yes")}


def from_environ(environ=None):
    """Return the configuration keys set in the environment, cast to their types."""
    environ = os.environ if environ is None else environ
    found = {}
    for key in DEFAULTS:
        if key in environ and environ[key] != "":
            found[key] = _CASTS.get(key, str)(environ[key])
    return found
