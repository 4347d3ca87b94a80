"""GET /healthz (the process answers) and GET /readyz (its dependencies answer too).

For load balancers and orchestrators, so both take no credentials and say nothing a
stranger may not know: states only, never an address, a URL or an error text (those go to
the log). /healthz touches nothing: a worker that answers it is alive, even while the
database is down (restarting it would not help). /readyz checks the database, the broker
and, when configured, Redis (the shared rate limits) and the Unleash server, all at once,
each within about a second (observability/checks.py): a 503 naming what is down, in about
a second even when a dependency hangs. Neither spends a rate-limit budget: a probe must
not be refused for an address's failed logins, nor wait on the limiter's Redis.
"""

from flask import Blueprint, current_app

from cloudapi.api import edge
from cloudapi.observability import checks

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    app = current_app._get_current_object()
    status, body = checks.report(checks.run(checks.of_app(app)))
    response = current_app.json.response(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    edge.exempt(app, bp)
    app.register_blueprint(bp)
