"""The admin console's login: an admin token exchanged for a server-side session.

The cookie carries only the session's random id (HttpOnly, SameSite=Strict, and Secure
unless SESSION_COOKIE_SECURE is off for plain-HTTP local use); the session itself is a
database row (cloudapi/services/console_sessions.py), so logging out ends it everywhere.
"""

from flask import Blueprint, current_app, g, request

from cloudapi.api.auth import CONSOLE_COOKIE, console_session
from cloudapi.api.context import body
from cloudapi.api.errors import Unauthorized
from cloudapi.schemas import load
from cloudapi.schemas.admin import ConsoleLoginSchema
from cloudapi.services import console_sessions

bp = Blueprint("admin_session", __name__)


def _database():
    return current_app.extensions["cloudapi.db"]


def _set_cookie(response, value):
    """Write (or, with value None, delete) the session cookie with the console's flags."""
    config = current_app.config
    flags = {"path": "/", "httponly": True, "samesite": "Strict",
             "secure": bool(config["SESSION_COOKIE_SECURE"])}  # fmt: skip
    if value is None:
        response.delete_cookie(CONSOLE_COOKIE, **flags)
    else:
        response.set_cookie(CONSOLE_COOKIE, value, **flags)
    return response


@bp.post("/session")
def log_in():
    token = load(ConsoleLoginSchema(), body())["token"]
    found = current_app.extensions["cloudapi.principals"].lookup(token)
    if found is None:
        g.auth_failed = True  # a guessed token: counted per address at the edge
    if found is None or not found["is_admin"]:
        raise Unauthorized()
    seconds = current_app.config["CONSOLE_SESSION_SECONDS"]
    previous = request.cookies.get(CONSOLE_COOKIE)
    # signing in again replaces this browser's session
    session_id, csrf_token = console_sessions.start(
        _database(), found["token_id"], seconds, replacing=previous
    )
    response = current_app.json.response({"authenticated": True, "csrf_token": csrf_token})
    return _set_cookie(response, session_id)


@bp.get("/session")
def whoami():
    live = console_session()
    if live is None:
        return {"authenticated": False, "csrf_token": None}
    return {"authenticated": True, "csrf_token": live.csrf_token}


@bp.delete("/session")
def log_out():
    session_id = request.cookies.get(CONSOLE_COOKIE)
    if session_id:
        console_sessions.end(_database(), session_id)
    return _set_cookie(current_app.json.response({}), None)
