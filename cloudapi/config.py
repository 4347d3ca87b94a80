"""Configuration: defaults in code, overridden from the environment."""

import os

DEFAULTS = {
    # None means "a SQLite file in the app's instance folder", resolved by create_app.
    "DATABASE_URL": None,
    "CATALOG_TTL": 30.0,
    "AUTH_CACHE_SECONDS": 1.0,
    # Signs the admin console's session cookie; default: a key kept in the instance folder.
    "SECRET_KEY": None,
    "SESSION_COOKIE_SECURE": False,
    # Front-end origins allowed to call the API from a browser (comma-separated).
    "CORS_ORIGINS": "",
    # Where jobs go: amqp://... (RabbitMQ) in production; None = an embedded broker file.
    "BROKER_URL": None,
    # Host agents: where they keep their state (None = <instance>/agents).
    "AGENT_STATE_DIR": None,
    # Linode's limits: requests/seconds per caller, and a stricter one for creating Linodes.
    "RATE_LIMIT": "800/120",
    "RATE_LIMIT_CREATE": "10/30",
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
    "SESSION_COOKIE_SECURE": _flag,
}


def from_environ(environ=None):
    """Return the configuration keys set in the environment, cast to their types."""
    environ = os.environ if environ is None else environ
    found = {}
    for key in DEFAULTS:
        if key in environ and environ[key] != "":
            found[key] = _CASTS.get(key, str)(environ[key])
    return found
