"""GET /metrics (Prometheus' text format), and the HTTP measurements of every request.

Who may scrape: an admin (a token, or the console's session), or whoever holds
METRICS_TOKEN, a bearer token of its own so that a Prometheus server needs no admin
token, which could do anything else too. Anyone else gets Linode's 401, and a guessed
token spends the address's failed-auth budget as anywhere (api/edge.py).

Every request is counted once it has its response (an after_request hook, which Flask
runs for error responses too): by route template (Flask's rule with `{name}` for each
parameter, `unmatched` for a 404 or 405 that matched no route, so a scanner's paths
never become series), method and status, and timed from the first of the app's hooks.
A refused create is counted when its 400 says the capacity was not there (the reasons
services/provision.py and services/instances.py give); 429s by the budget spent.
"""

import hmac
import logging
import re
import time

from flask import Blueprint, current_app, g, request

from cloudapi.api.auth import bearer_token, load_admin_principal
from cloudapi.api.budgets import ALL, AUTH_FAILURES, CREATE
from cloudapi.api.context import principal
from cloudapi.api.edge import spent_scope
from cloudapi.api.errors import Unauthorized
from cloudapi.observability import metrics
from cloudapi.observability.collector import StateCollector
from cloudapi.services.instances import BUSY_CAPACITY

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

ROUTE_PARAM = re.compile(r"<(?:[^<>]*:)?(\w+)>")
UNMATCHED = "unmatched"
BUDGETS = (ALL, CREATE, AUTH_FAILURES)
SURFACES = ("v4", "v4beta", "admin", "internal", "console", "metrics")
CREATE_ENDPOINTS = ("v4.linodes.create_instance", "v4beta.linodes.create_instance")
# services/provision.py: f"No capacity for {plan.id} in {instance.region_id}: {why}"
NO_CAPACITY = re.compile(r"No capacity for (\S+) in (\S+?):")


@bp.get("/metrics")
def scrape():
    _authorize()
    app = current_app._get_current_object()
    collector = app.extensions.setdefault("cloudapi.state_collector", StateCollector(app))
    response = current_app.response_class(metrics.exposition([collector]))
    response.headers["Content-Type"] = metrics.CONTENT_TYPE
    response.headers["Cache-Control"] = "no-store"
    return response


def _authorize():
    """The metrics token, else an admin's credentials (a bad token is a 401 either way)."""
    token, expected = bearer_token(), current_app.config.get("METRICS_TOKEN")
    if token and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    load_admin_principal()
    caller = principal()
    if caller is None or not caller.is_admin:
        raise Unauthorized()


# -- every request -----------------------------------------------------------------------


def route_template():
    rule = request.url_rule
    return UNMATCHED if rule is None else ROUTE_PARAM.sub(r"{\1}", rule.rule)


def _start():
    g.metrics_started = time.perf_counter()


def _record(response):
    """Count and time the request; a failure here is logged, never the client's problem."""
    try:
        route, method, status = route_template(), request.method, response.status_code
        metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
        started = g.get("metrics_started")
        if started is not None:
            metrics.HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)
        if g.get("auth_failed"):
            metrics.AUTH_FAILURES.labels(_surface()).inc()
        if status == 429:
            metrics.RATE_LIMITED.labels(_spent_budget()).inc()
        refused = _refused_for_capacity(response)
        if refused is not None:
            metrics.CREATES_REFUSED.labels(*refused).inc()
    except Exception:
        log.exception("metrics: request not recorded")
    return response


def _surface():
    first = request.path.lstrip("/").split("/", 1)[0]
    return first if first in SURFACES else "other"


def _spent_budget():
    """The scope of the budget a 429 spent out (api/budgets.py's v4, v4-create, auth-failures)."""
    scope = spent_scope()
    return scope if scope in BUDGETS else "unknown"


def _refused_for_capacity(response):
    """(plan, region, reason) when a create's 400 says GPU capacity was short, else None."""
    if response.status_code != 400 or request.endpoint not in CREATE_ENDPOINTS:
        return None
    for error in (response.get_json(silent=True) or {}).get("errors") or []:
        reason = str(error.get("reason", ""))
        found = NO_CAPACITY.match(reason)
        if found:
            return found.group(1), found.group(2), "no_capacity"
        if reason == BUSY_CAPACITY:
            sent = request.get_json(silent=True) or {}
            return str(sent.get("type"))[:64], str(sent.get("region"))[:64], "busy"
    return None


def init_app(app):
    """Time from the very first hook (before the request checks), count after the last."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_record)
    app.register_blueprint(bp)
