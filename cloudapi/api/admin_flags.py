"""Admin endpoints for release managers: flags (launch and rollback), their audit, betas."""

from dataclasses import asdict

from flask import Blueprint, current_app

from cloudapi.api.auth import admin_required, load_admin_principal
from cloudapi.api.context import database, principal
from cloudapi.errors import ApiError, NotFound
from cloudapi.flagging.admin import FlagError, flag_admin
from cloudapi.services import betas

bp = Blueprint("admin_flags", __name__)
bp.before_request(load_admin_principal)


def _admin():
    if "cloudapi.flag_admin" not in current_app.extensions:
        try:
            made = flag_admin(current_app.config, database())
        except FlagError as exc:
            raise ApiError.reason(str(exc), 503) from None
        current_app.extensions["cloudapi.flag_admin"] = made
    return current_app.extensions["cloudapi.flag_admin"]


def _actor():
    return f"admin token #{principal().token_id}"


@bp.get("/flags")
@admin_required
def list_flags():
    admin = _admin()
    try:
        found = admin.flags()
    except FlagError as exc:
        raise ApiError.reason(str(exc), 502) from None
    return {"mode": admin.mode, "environment": admin.environment,
            "data": [asdict(f) for f in found]}  # fmt: skip


@bp.post("/flags/<name>/<any(enable, disable):action>")
@admin_required
def flip_flag(name, action):
    admin = _admin()
    try:
        old, new = admin.set_enabled(name, action == "enable", _actor())
    except FlagError as exc:
        if "no flag named" in str(exc):
            raise NotFound() from None
        raise ApiError.reason(str(exc), 502) from None
    return {"name": name, "environment": admin.environment, "from": old, "to": new}


@bp.get("/flags/audit")
@admin_required
def flag_audit():
    return {"data": _admin().audit()}


@bp.post("/betas/<beta_id>/<any(open, close):action>")
@admin_required
def open_or_close_beta(beta_id, action):
    try:
        with database().transaction() as session:
            beta = betas.set_open(session, beta_id, action == "open")
            return {"id": beta.id, "is_open": beta.is_open}
    except betas.BetaError:
        raise NotFound() from None
