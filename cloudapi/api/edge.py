"""What every /v4 response carries at the edge: CORS for listed origins, and rate limits.

CORS is Flask-CORS's, for the origins in `CORS_ORIGINS` (comma-separated, matched
literally) on every path but the staff surfaces (/admin, /internal, /console): routed or
not, 404, 405, 429 and 500 included, so a browser reads every error as Linode's JSON and
never as a network failure. A preflight is answered (204) before rate limits and
authentication: browsers send no credentials on it, and it spends no budget.

Rate limits follow Linode: a general budget per caller (`RATE_LIMIT`), a stricter one for
creating Linodes (`RATE_LIMIT_CREATE`), `X-RateLimit-Limit/Remaining/Reset` on every /v4
response and a 429 `{"errors":[{"reason":"Too many requests"}]}` with a small integer
`Retry-After` when a budget is spent (both official clients wait and retry). Requests whose
token resolves to no one are counted per client address (`RATE_LIMIT_AUTH_FAILURES`, on
/v4, /admin and /internal alike): past that budget the address gets 429 for anything that
presents a token, so tokens cannot be guessed at request speed.

Flask-Limiter counts, with fixed windows, in `RATELIMIT_STORAGE_URI`: `memory://` keeps
them in each process (the embedded default), `redis://...` shares them between every
worker of every server, and Redis's atomic increments make the budget exact. Should Redis
fail, each process falls back to its own counters until Redis answers again.
"""

import logging
import math
import re
import time

from flask import current_app, g, request
from flask_cors import CORS
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded

from cloudapi.api.auth import bearer_token
from cloudapi.api.errors import error_response
from cloudapi.services.tokens import digest

log = logging.getLogger(__name__)

# What @linode/api-v4 sends from a browser (Content-Type on writes, X-Filter on lists).
ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-Filter", "Idempotency-Key", "X-Request-Id"]
ALLOWED_METHODS = ["GET", "POST", "PUT", "DELETE"]
EXPOSED_HEADERS = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                   "Retry-After", "X-Request-Id"]  # fmt: skip
PREFLIGHT_MAX_AGE = 600
# Everything but the staff surfaces, which have their own origin (and cookies, host tokens).
CORS_PATHS = re.compile(r"/(?!(admin|internal|console)(/|$))")
CREATE_PATHS = ("/v4/linode/instances", "/v4beta/linode/instances")
# Scopes of the shared budgets (part of each counter's key).
ALL, CREATE, AUTH_FAILURES = "v4", "v4-create", "auth-failures"
# A storage that does not answer within this long counts as down (then: per-process).
STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}


def parse_limit(text):
    """ "800/120" -> (800 requests, 120 seconds); "off" or "" -> None."""
    if not text or text.strip().lower() in ("off", "0", "none"):
        return None
    count, _, seconds = text.partition("/")
    return int(count), int(seconds or 60)


def limit_string(text):
    """Our config ("800/120") in Flask-Limiter's notation ("800 per 120 seconds"), or None."""
    parsed = parse_limit(text)
    return None if parsed is None else f"{parsed[0]} per {parsed[1]} seconds"


def _caller():
    """Whose budget a /v4 request spends: its token's (hashed), else its address's."""
    token = bearer_token()
    return digest(token) if token else f"ip:{request.remote_addr}"


def _address():
    return request.remote_addr or "unknown"


def _is_create():
    return request.method == "POST" and request.path.rstrip("/") in CREATE_PATHS


def _presents_no_token():
    """Anonymous requests cannot guess a token: the failed-auth budget leaves them alone."""
    logging_in = request.endpoint == "admin_session.log_in"
    return not request.headers.get("Authorization") and not logging_in


def _failed_auth(_response):
    return g.get("auth_failed", False)


def _is_preflight():
    asks = request.headers.get("Access-Control-Request-Method")
    return request.method == "OPTIONS" and bool(asks)


def _in_cors_scope():
    return bool(CORS_PATHS.match(request.path))


def answer_preflight():
    """Answer a preflight (routed path or not) before limits and authentication see it.

    A preflight must get a 2xx or the browser drops the real request: even a 404 would
    arrive as a network failure. Flask-CORS adds the headers for a listed origin."""
    if _is_preflight() and _in_cors_scope():
        return current_app.response_class(status=204)
    return None


def _vary_on_origin(response):
    """With origins listed, what a response says depends on Origin: caches must know."""
    if _in_cors_scope():
        response.vary.add("Origin")
    return response


def _literal(origin):
    """An origin as Flask-CORS matches it exactly (it reads "*", "?" or "[" as a regex)."""
    return re.compile(re.escape(origin) + r"\Z", re.IGNORECASE)


def _cors(app, origins):
    """Flask-CORS for the listed origins (none listed: no CORS at all).

    `vary_header` is off because _vary_on_origin says it on every response, listed origin
    or not; `always_send` is off, else a request without Origin would get every origin."""
    app.before_request(answer_preflight)  # after the request checks, before the limiter
    if not origins:
        return
    app.after_request(_vary_on_origin)
    CORS(app, resources={CORS_PATHS: {}}, origins=[_literal(o) for o in origins],
         methods=ALLOWED_METHODS, allow_headers=ALLOWED_HEADERS,
         expose_headers=EXPOSED_HEADERS, max_age=PREFLIGHT_MAX_AGE,
         vary_header=False, always_send=False)  # fmt: skip


def _headline():
    """The limit the X-RateLimit-* headers describe: the one breached, else the create
    budget on a create, else the general budget (None when limits are off)."""
    limits = current_app.extensions["cloudapi.limiter"].current_limits
    breached = [lim for lim in limits if lim.breached]
    if breached:
        return breached[0]
    by_scope = {lim.request_args[-1]: lim for lim in limits}
    return by_scope.get(CREATE) or by_scope.get(ALL)


def _retry_after():
    """Whole seconds until the breached window ends; at least 1, so a client never spins."""
    breached = current_app.extensions["cloudapi.limiter"].current_limit
    try:
        return max(1, math.ceil(breached.window.reset_time - time.time()))
    except Exception:
        return 1


def too_many_requests(_exc: RateLimitExceeded):
    """Linode's 429: its error body and a small integer Retry-After."""
    response = error_response([{"reason": "Too many requests"}], 429)
    response.headers["Retry-After"] = str(_retry_after())
    return response


def decorate(response):
    """Add the rate limit headers to a /v4 response."""
    try:
        headline = _headline()
        if headline is not None:
            response.headers["X-RateLimit-Limit"] = str(headline.limit.amount)
            response.headers["X-RateLimit-Remaining"] = str(headline.remaining)
            response.headers["X-RateLimit-Reset"] = str(headline.reset_at)
    except Exception:
        log.exception("rate limit headers left out")
    return response


def _limiter(app):
    """A Flask-Limiter for this app: per-address failed-auth budget on every endpoint."""
    config = app.config
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    if not config["RATELIMIT_STORAGE_URI"].startswith("memory"):
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", STORAGE_OPTIONS)
    failures = limit_string(config["RATE_LIMIT_AUTH_FAILURES"])
    app_limits = [ApplicationLimit(limit_provider=failures, key_function=_address,
                                   scope=AUTH_FAILURES, exempt_when=_presents_no_token,
                                   deduct_when=_failed_auth)]  # fmt: skip
    limiter = Limiter(_address, application_limits=app_limits if failures else None,
                      headers_enabled=False)  # fmt: skip
    limiter.request_filter(_is_preflight)
    limiter.init_app(app)
    return limiter


def init_app(app):
    """The app-wide parts: CORS for the listed origins, the limiter and the 429 handler."""
    origins = app.config["CORS_ORIGINS"] or ""
    _cors(app, [o.strip() for o in origins.split(",") if o.strip()])
    app.extensions["cloudapi.limiter"] = _limiter(app)
    app.register_error_handler(RateLimitExceeded, too_many_requests)


def guard(app, blueprint):
    """Put a customer API blueprint (/v4, /v4beta) behind the edge.

    The budgets' scopes are shared, so /v4 and /v4beta spend one budget per caller.
    """
    limiter = app.extensions["cloudapi.limiter"]
    general = limit_string(app.config["RATE_LIMIT"])
    if general:
        limiter.shared_limit(general, scope=ALL, key_func=_caller)(blueprint)
    create = limit_string(app.config["RATE_LIMIT_CREATE"])
    if create:
        limiter.shared_limit(create, scope=CREATE, key_func=_caller,
                             exempt_when=lambda: not _is_create())(blueprint)  # fmt: skip
    blueprint.after_request(decorate)
