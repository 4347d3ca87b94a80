"""Readiness checks: is each dependency reachable now, answered within a deadline.

A check is a callable that returns when its dependency answered and raises when it did
not. `run` starts them all at once, each in a daemon thread, and waits at most `timeout`
seconds for the lot: a dependency that hangs (a broker that accepts the connection and
never speaks) is reported `timeout` and the answer still comes in time. The thread of a
hung check is left to end on its own client-side timeout (each check sets one), so a
probe never waits on it and it never outlives its socket's deadline by much.

What a check reports is only `ok`, `down` or `timeout`: the error itself (a host name, a
path, a user name in a URL) is logged, never sent to whoever asks.
"""

import logging
import threading
import time

log = logging.getLogger(__name__)

TIMEOUT = 1.0
OK, DOWN, TIMEOUT_STATE = "ok", "down", "timeout"


def run(checks, timeout=TIMEOUT):
    """{name: "ok" | "down" | "timeout"} for each of `checks` ({name: callable})."""
    boxes = {}
    for name, check in checks.items():
        box = {}
        thread = threading.Thread(target=_run_one, args=(name, check, box), daemon=True,
                                  name=f"readiness-{name}")  # fmt: skip
        thread.start()
        boxes[name] = (thread, box)
    deadline = time.monotonic() + timeout
    states = {}
    for name, (thread, box) in boxes.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        states[name] = box.get("state", TIMEOUT_STATE)
        if states[name] == TIMEOUT_STATE:
            log.warning("readiness: %s did not answer within %.1f s", name, timeout)
    return states


def _run_one(name, check, box):
    try:
        check()
        box["state"] = OK
    except Exception as exc:
        log.warning("readiness: %s is down (%s: %s)", name, type(exc).__name__, exc)
        box["state"] = DOWN


def report(states):
    """(HTTP status, JSON body) for a readiness answer: 200, or 503 naming what is down."""
    down = sorted(name for name, state in states.items() if state != OK)
    body = {"status": "unavailable" if down else "ok", "checks": states, "down": down}
    return (503 if down else 200), body


# -- the checks --------------------------------------------------------------------------


def database(db):
    """The database answers a query (through the app's pool and its timeouts)."""

    def check():
        from sqlalchemy import text

        with db.reader() as session:
            session.execute(text("SELECT 1"))

    return check


def broker(url, timeout=TIMEOUT):
    """The broker accepts a connection (AMQP: the whole handshake) within `timeout`."""

    def check():
        from cloudapi.jobs import broker as jobs_broker

        conn = jobs_broker.connection(url)
        conn.connect_timeout = timeout
        try:
            conn.ensure_connection(max_retries=0)  # one attempt (connect() tries twice)
        finally:
            conn.release()

    return check


def redis(url, timeout=TIMEOUT):
    """Redis (the shared rate-limit counters) answers PING within `timeout`."""

    def check():
        import redis as redis_client

        client = redis_client.Redis.from_url(url, socket_connect_timeout=timeout,
                                             socket_timeout=timeout)  # fmt: skip
        try:
            if not client.ping():
                raise ConnectionError("no PONG")
        finally:
            client.close()

    return check


def unleash(url, token, timeout=TIMEOUT):
    """The Unleash server serves the client API (what the SDK polls) within `timeout`."""

    def check():
        import requests

        headers = {"Authorization": token} if token else {}
        response = requests.get(f"{url.rstrip('/')}/client/features", headers=headers,
                                timeout=timeout)  # fmt: skip
        response.raise_for_status()

    return check


def http(url, timeout=TIMEOUT):
    """An HTTP service (an agent's API) answers `url` with a 2xx within `timeout`."""

    def check():
        import requests

        requests.get(url, timeout=timeout).raise_for_status()

    return check


def of_app(app):
    """The API's checks: database and broker; Redis and Unleash only when configured."""
    config = app.config
    found = {"database": database(app.extensions["cloudapi.db"]),
             "broker": broker(config["BROKER_URL"])}  # fmt: skip
    storage = config.get("RATELIMIT_STORAGE_URI") or ""
    if storage.startswith(("redis://", "rediss://")):
        found["redis"] = redis(storage)
    if config.get("UNLEASH_URL"):
        found["unleash"] = unleash(config["UNLEASH_URL"], config.get("UNLEASH_API_TOKEN"))
    return found
