"""Admin endpoints for release managers: flags (launch and rollback), their audit, betas."""

from dataclasses import asdict

from flask import Blueprint, current_app

from cloudapi.api import render_admin
from cloudapi.api.auth import admin_required, load_admin_principal
from cloudapi.api.context import body, database, principal
from cloudapi.flagging.admin import flag_admin
from cloudapi.flagging.rollout import Scope
from cloudapi.schemas import load
from cloudapi.schemas.admin import FlagFlipSchema
from cloudapi.services import betas

bp = Blueprint("admin_flags", __name__)
bp.before_request(load_admin_principal)


def _admin():
    if "cloudapi.flag_admin" not in current_app.extensions:
        current_app.extensions["cloudapi.flag_admin"] = flag_admin(current_app.config, database())
    return current_app.extensions["cloudapi.flag_admin"]


def _actor():
    return f"admin token #{principal().token_id}"


@bp.get("/flags")
@admin_required
def list_flags():
    admin = _admin()
    found = admin.flags()
    return {"mode": admin.mode, "environment": admin.environment,
            "data": [asdict(f) for f in found]}  # fmt: skip


@bp.post("/flags/<name>/<any(enable, disable):action>")
@admin_required
def flip_flag(name, action):
    """Flip a flag; a launch flag's body may scope it (regions, rollout: FlagFlipSchema)."""
    admin = _admin()
    enabled = action == "enable"
    data = load(FlagFlipSchema(), body(optional=True))
    scope = Scope(
        add_regions=tuple(data["regions"]) if enabled else (),
        remove_regions=() if enabled else tuple(data["regions"]),
        everywhere=data["everywhere"], rollout=data["rollout"], force=data["force"],
    )  # fmt: skip
    flip = admin.set_enabled(name, enabled, _actor(), scope)
    return {"name": name, "environment": admin.environment, "from": flip.old, "to": flip.new,
            "change": flip.change, "regions": flip.regions, "rollout": flip.rollout}  # fmt: skip


@bp.get("/flags/audit")
@admin_required
def flag_audit():
    return {"data": _admin().audit()}


@bp.post("/betas/<beta_id>/<any(open, close):action>")
@admin_required
def open_or_close_beta(beta_id, action):
    return render_admin.beta_state(betas.open_or_close(database(), beta_id, action == "open"))
