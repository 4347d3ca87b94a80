"""The admin console: server-rendered pages at /console that drive the /admin JSON API.

The pages hold no admin data themselves. `GET /console/` renders the login form unless the
browser holds a live console session (the session cookie that `POST /admin/session` sets
for an admin token); then it renders the console's frame with the session's CSRF token,
and a little vanilla JS (static/console.js) fills it from the JSON API. Tokens never
appear in URLs or in page storage: the login form posts the token once, in a JSON body.
"""

from flask import Blueprint, render_template

from cloudapi.api.auth import console_session

bp = Blueprint(
    "admin_ui",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# Only this origin's scripts and styles; no inline code, no framing, no foreign forms.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _admin_session():
    """The console session's admin token id and CSRF token, or None when not signed in."""
    live = console_session()
    if live is None:
        return None
    return {"token_id": live.principal["token_id"], "csrf_token": live.csrf_token}


@bp.after_request
def _harden(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    admin = _admin_session()
    if admin is None:
        return render_template("admin_ui/login.html")
    return render_template("admin_ui/console.html", admin=admin)
