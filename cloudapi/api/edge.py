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
presents a token, so tokens cannot be guessed at request speed. The counting is
cloudapi/api/budgets.py's. Unrouted requests (404, 405), preflights and the health
endpoints spend nothing.
"""

import logging
import re

from flask import current_app, g, request
from flask_cors import CORS

from cloudapi.api.auth import bearer_token
from cloudapi.api.budgets import ALL, AUTH_FAILURES, CREATE, STORAGE_OPTIONS, Budget, Counters
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
    app.before_request(answer_preflight)  # after the request checks, before the budgets
    if not origins:
        return
    app.after_request(_vary_on_origin)
    CORS(app, resources={CORS_PATHS: {}}, origins=[_literal(o) for o in origins],
         methods=ALLOWED_METHODS, allow_headers=ALLOWED_HEADERS,
         expose_headers=EXPOSED_HEADERS, max_age=PREFLIGHT_MAX_AGE,
         vary_header=False, always_send=False)  # fmt: skip


def _budgets():
    return current_app.extensions["cloudapi.budgets"]


def _exempt():
    """Requests that spend no budget: preflights, unrouted ones, health, static files."""
    endpoint = request.endpoint
    return (not endpoint or endpoint.rsplit(".", 1)[-1] == "static" or _is_preflight()
            or request.blueprint in _budgets().exempt)  # fmt: skip


def _refuse(spent):
    """Linode's 429: its error body and a small integer Retry-After."""
    g.rate_limited = spent
    response = error_response([{"reason": "Too many requests"}], 429)
    response.headers["Retry-After"] = str(_budgets().counters.retry_after(spent))
    return response


def spend():
    """Spend what this request costs of each budget, before authentication; the 429 of
    the first one that is spent out (the failed-auth one only tested: its cost comes
    after, when authentication has failed)."""
    if _exempt():
        return None
    edge = _budgets()
    if edge.failures is not None and not _presents_no_token():
        g.failures_counted = True
        tested = edge.counters.test(edge.failures, _address())
        if not tested.within:
            return _refuse(tested)
    if (request.blueprint or "").split(".", 1)[0] not in edge.guarded:
        return None
    caller, spent = _caller(), []
    g.budgets_spent = spent
    for budget in (edge.general, edge.create if _is_create() else None):
        if budget is not None:
            spent.append(edge.counters.hit(budget, caller))
            if not spent[-1].within:
                return _refuse(spent[-1])
    return None


def count_failed_auth(response):
    """A token that resolved to no one spends one of its address's failed-auth budget."""
    if g.get("auth_failed") and g.get("failures_counted"):
        edge = _budgets()
        try:
            edge.counters.hit(edge.failures, _address())
        except Exception:
            log.exception("failed authentication not counted")
    return response


def _headline():
    """What the X-RateLimit-* headers describe: the budget spent out, else the create
    budget on a create, else the general one (None when limits are off)."""
    breached = g.get("rate_limited")
    if breached is not None:
        return breached
    spent = g.get("budgets_spent")
    return spent[-1] if spent else None


def decorate(response):
    """Add the rate limit headers to a /v4 response."""
    try:
        headline = _headline()
        if headline is not None:
            remaining, reset = _budgets().counters.window(headline)
            response.headers["X-RateLimit-Limit"] = str(headline.budget.amount)
            response.headers["X-RateLimit-Remaining"] = str(remaining)
            response.headers["X-RateLimit-Reset"] = str(int(reset))
    except Exception:
        log.exception("rate limit headers left out")
    return response


def spent_scope():
    """The scope of the budget this request's 429 spent out (budgets.ALL, ...), or None."""
    breached = g.get("rate_limited")
    return None if breached is None else breached.budget.scope


class Edge:
    """The app's budgets and their counters; which blueprints spend the general ones."""

    def __init__(self, config):
        uri = config["RATELIMIT_STORAGE_URI"]
        options = None if uri.startswith("memory") else STORAGE_OPTIONS
        self.counters = Counters(uri, config["RATELIMIT_KEY_PREFIX"], options)
        self.general = Budget.of(ALL, config["RATE_LIMIT"])
        self.create = Budget.of(CREATE, config["RATE_LIMIT_CREATE"])
        self.failures = Budget.of(AUTH_FAILURES, config["RATE_LIMIT_AUTH_FAILURES"])
        self.guarded, self.exempt = set(), set()


def init_app(app):
    """The app-wide parts: CORS for the listed origins, then the budgets."""
    origins = app.config["CORS_ORIGINS"] or ""
    _cors(app, [o.strip() for o in origins.split(",") if o.strip()])
    app.extensions["cloudapi.budgets"] = Edge(app.config)
    app.before_request(spend)  # after the request checks and preflights, before auth
    app.after_request(count_failed_auth)


def guard(app, blueprint):
    """Put a customer API blueprint (/v4, /v4beta) behind the general and create budgets.

    The budgets' keys do not name the blueprint, so /v4 and /v4beta spend one budget per
    caller.
    """
    app.extensions["cloudapi.budgets"].guarded.add(blueprint.name)
    blueprint.after_request(decorate)


def exempt(app, blueprint):
    """Let `blueprint`'s requests spend no budget (health checks)."""
    app.extensions["cloudapi.budgets"].exempt.add(blueprint.name)
