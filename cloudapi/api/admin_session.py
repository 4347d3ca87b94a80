"""The admin console's login: an admin token exchanged for a session cookie."""

import secrets

from flask import Blueprint, current_app, session

from cloudapi.api.context import body
from cloudapi.errors import ApiError, Unauthorized

bp = Blueprint("admin_session", __name__)


@bp.post("/session")
def log_in():
    token = body().get("token")
    if not isinstance(token, str) or not token:
        raise ApiError.field("token", "token is required")
    found = current_app.extensions["cloudapi.principals"].lookup(token)
    if found is None or not found["is_admin"]:
        raise Unauthorized()
    session.clear()
    session["admin_token_id"] = found["token_id"]
    session["csrf_token"] = secrets.token_urlsafe(32)
    session.permanent = False
    return {"authenticated": True, "csrf_token": session["csrf_token"]}


@bp.get("/session")
def whoami():
    if session.get("admin_token_id") is None:
        return {"authenticated": False, "csrf_token": None}
    return {"authenticated": True, "csrf_token": session.get("csrf_token")}


@bp.delete("/session")
def log_out():
    session.clear()
    return {}
