"""Configuration: defaults in code, overridden from the environment."""

import os

DEFAULTS = {
    # None means "a SQLite file in the app's instance folder", resolved by create_app.
    "DATABASE_URL": None,
    # PostgreSQL waits, in seconds (0 = no limit): connecting, one statement (server side,
    # plus a client-side guard for a server that stops answering), a free pooled connection.
    "DATABASE_CONNECT_TIMEOUT": 3.0,
    "DATABASE_STATEMENT_TIMEOUT": 5.0,
    "DATABASE_POOL_TIMEOUT": 5.0,
    "CATALOG_TTL": 30.0,
    "AUTH_CACHE_SECONDS": 1.0,
    # Flask's signing key; default: a key kept in the instance folder.
    "SECRET_KEY": None,
    # The console's session cookie is Secure (HTTPS only) unless turned off for plain-HTTP
    # local use; its session lives in the database for CONSOLE_SESSION_SECONDS.
    "SESSION_COOKIE_SECURE": True,
    "CONSOLE_SESSION_SECONDS": 43200,
    # Front-end origins allowed to call the API from a browser (comma-separated).
    "CORS_ORIGINS": "",
    # Where jobs go: amqp://... (RabbitMQ) in production; None = an embedded broker file.
    "BROKER_URL": None,
    # Host agents: where they keep their state (None = <instance>/agents).
    "AGENT_STATE_DIR": None,
    # Linode's limits: requests/seconds per caller, and a stricter one for creating Linodes.
    "RATE_LIMIT": "800/120",
    "RATE_LIMIT_CREATE": "10/30",
    # Requests with a token that resolves to no one, per client address (then 429).
    "RATE_LIMIT_AUTH_FAILURES": "10/60",
    # Where the counters live: memory:// (per process) or redis://host:6379/N (shared).
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_KEY_PREFIX": "cloudapi",
    "SQL_ECHO": False,
    # Request limits (cloudapi/api/limits.py), each below gunicorn's (`cloudapi serve`), so
    # an over-limit request gets our JSON 413/414/431 rather than gunicorn's HTML page.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "MAX_URL_BYTES": 4096,
    "MAX_HEADER_COUNT": 100,
    "MAX_HEADER_BYTES": 16384,
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
    # A bearer token that may read GET /metrics (a Prometheus server's), besides admins'.
    "METRICS_TOKEN": None,
}


def _flag(value):
    return value.strip().lower() in ("1", "true", "yes", "on")


_CASTS = {
    "DATABASE_CONNECT_TIMEOUT": float,
    "DATABASE_STATEMENT_TIMEOUT": float,
    "DATABASE_POOL_TIMEOUT": float,
    "CATALOG_TTL": float,
    "AUTH_CACHE_SECONDS": float,
    "SQL_ECHO": _flag,
    "MAX_CONTENT_LENGTH": int,
    "MAX_URL_BYTES": int,
    "MAX_HEADER_COUNT": int,
    "MAX_HEADER_BYTES": int,
    "UNLEASH_REFRESH_INTERVAL": int,
    "UNLEASH_REQUEST_TIMEOUT": int,
    "UNLEASH_DISABLE_METRICS": _flag,
    "FLAGS_ENABLED": _flag,
    "SESSION_COOKIE_SECURE": _flag,
    "CONSOLE_SESSION_SECONDS": int,
}


def from_environ(environ=None):
    """Return the configuration keys set in the environment, cast to their types."""
    environ = os.environ if environ is None else environ
    found = {}
    for key in DEFAULTS:
        if key in environ and environ[key] != "":
            found[key] = _CASTS.get(key, str)(environ[key])
    return found
