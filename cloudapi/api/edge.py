"""What every /v4 response carries at the edge: CORS for listed origins, and rate limits.

Rate limits follow Linode: a general budget per caller, a stricter one for creating
Linodes, `X-RateLimit-Limit/Remaining/Reset` on every response and a 429 with a small
integer `Retry-After` when the budget is spent (both official clients wait and retry).
Counters are fixed windows kept in each process: with N gunicorn workers a caller can get
up to N times the budget (a shared store such as Redis would make it exact).
"""

import math
import threading
import time

from flask import current_app, request

from cloudapi.api.auth import bearer_token
from cloudapi.errors import error_response
from cloudapi.services.tokens import digest

ALLOWED_HEADERS = "Authorization, Content-Type, X-Filter, Idempotency-Key"
ALLOWED_METHODS = "GET, POST, PUT, DELETE"
EXPOSED_HEADERS = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"


def parse_limit(text):
    """ "800/120" -> (800 requests, 120 seconds); "off" or "" -> None."""
    if not text or text.strip().lower() in ("off", "0", "none"):
        return None
    count, _, seconds = text.partition("/")
    return int(count), int(seconds or 60)


class Limiter:
    """Fixed-window counters per (bucket, caller)."""

    def __init__(self):
        self._windows = {}
        self._lock = threading.Lock()

    def hit(self, bucket, caller, limit, seconds, now=None):
        """Count one request; return (allowed, remaining, reset epoch seconds)."""
        now = time.time() if now is None else now
        start = math.floor(now / seconds) * seconds
        key = (bucket, caller)
        with self._lock:
            window, used = self._windows.get(key, (start, 0))
            if window != start:
                window, used = start, 0
            used += 1
            self._windows[key] = (window, used)
            if len(self._windows) > 100_000:
                self._windows = {k: v for k, v in self._windows.items() if v[0] == start}
        reset = int(start + seconds)
        return used <= limit, max(limit - used, 0), reset


def _caller():
    token = bearer_token()
    return digest(token) if token else f"ip:{request.remote_addr}"


def _cors_origin():
    origin = request.headers.get("Origin")
    allowed = current_app.extensions["cloudapi.cors_origins"]
    return origin if origin and origin in allowed else None


def preflight():
    """Answer a CORS preflight for a listed origin before anything else runs."""
    if request.method != "OPTIONS" or not request.headers.get("Access-Control-Request-Method"):
        return None
    response = current_app.response_class(status=204)
    origin = _cors_origin()
    if origin:
        response.headers.update({
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        })  # fmt: skip
    return response


def rate_limit():
    """Spend one request of the caller's budget (two for creates); 429 when spent."""
    limits = current_app.extensions["cloudapi.rate_limits"]
    checks = [("all", limits["default"])]
    if request.method == "POST" and request.path.rstrip("/") == "/v4/linode/instances":
        checks.append(("create", limits["create"]))
    caller, headline = _caller(), None
    for bucket, limit in checks:
        if limit is None:
            continue
        allowed, remaining, reset = current_app.extensions["cloudapi.limiter"].hit(
            bucket, caller, *limit
        )
        headline = (limit[0], remaining, reset)
        if not allowed:
            response = error_response([{"reason": "Too many requests"}], 429)
            response.headers["Retry-After"] = str(max(1, reset - int(time.time())))
            _rate_headers(response, headline)
            return response
    request.environ["cloudapi.rate"] = headline
    return None


def _rate_headers(response, headline):
    if headline is not None:
        limit, remaining, reset = headline
        response.headers["X-RateLimit-Limit"] = str(limit)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        response.headers["X-RateLimit-Reset"] = str(reset)


def decorate(response):
    """Add the rate and CORS headers to a /v4 response."""
    _rate_headers(response, request.environ.get("cloudapi.rate"))
    origin = _cors_origin()
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response.headers.add("Vary", "Origin")
    return response


def init_app(app, blueprint):
    origins = app.config["CORS_ORIGINS"] or ""
    app.extensions["cloudapi.cors_origins"] = {o.strip() for o in origins.split(",") if o.strip()}
    app.extensions["cloudapi.rate_limits"] = {
        "default": parse_limit(app.config["RATE_LIMIT"]),
        "create": parse_limit(app.config["RATE_LIMIT_CREATE"]),
    }
    app.extensions["cloudapi.limiter"] = Limiter()
    blueprint.before_request(preflight)
    blueprint.before_request(rate_limit)
    blueprint.after_request(decorate)
