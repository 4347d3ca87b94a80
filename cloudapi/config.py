"""Configuration: defaults in code, overridden from the environment."""

import os

DEFAULTS = {
    # None means "a SQLite file in the app's instance folder", resolved by create_app.
    "DATABASE_URL": None,
    "CATALOG_TTL": 30.0,
    "AUTH_CACHE_SECONDS": 1.0,
    "SQL_ECHO": False,
    # Feature flags. No UNLEASH_URL: the embedded default (flags/ plus state in our DB).
    "UNLEASH_URL": None,
    "UNLEASH_APP_NAME": "cloudapi",
    "UNLEASH_ENVIRONMENT": "development",
    "UNLEASH_PROJECT": "default",
    "UNLEASH_API_TOKEN": None,
    "UNLEASH_ADMIN_TOKEN": None,
    "UNLEASH_REFRESH_INTERVAL": 10,
    "UNLEASH_REQUEST_TIMEOUT": 2,
    "UNLEASH_DISABLE_METRICS": False,
    "FLAGS_FILE": None,
    "FLAGS_ENABLED": True,
}


def _flag(value):
    return value.strip().lower() in ("1", "true", "yes", "on")


_CASTS = {
    "CATALOG_TTL": float,
    "AUTH_CACHE_SECONDS": float,
    "SQL_ECHO": _flag,
    "UNLEASH_REFRESH_INTERVAL": int,
    "UNLEASH_REQUEST_TIMEOUT": int,
    "UNLEASH_DISABLE_METRICS": _flag,
    "FLAGS_ENABLED": _flag,
}


def from_environ(environ=None):
    """Return the configuration keys set in the environment, cast to their types."""
    environ = os.environ if environ is None else environ
    found = {}
    for key in DEFAULTS:
        if key in environ and environ[key] != "":
            found[key] = _CASTS.get(key, str)(environ[key])
    return found
