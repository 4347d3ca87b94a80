"""Admin endpoints: reached only with an admin token."""

from flask import Blueprint, current_app, request

from cloudapi.api import render
from cloudapi.api.auth import admin_required, load_admin_principal
from cloudapi.api.context import body, database, snapshot
from cloudapi.api.principals import forget_account
from cloudapi.errors import ApiError, NotFound
from cloudapi.schemas import load
from cloudapi.schemas.admin import AccountCreateSchema, AccountTagSchema, GpuInstanceSchema
from cloudapi.services import accounts, console

bp = Blueprint("admin", __name__)


bp.before_request(load_admin_principal)


def _account_json(a):
    return {"id": a.id, "email": a.email, "username": a.username, "tags": a.tag_names}


def _change(fn, *args):
    with database().transaction() as session:
        try:
            changed = _account_json(fn(session, *args))
            forget_account(current_app, changed["id"])
            return changed
        except accounts.AccountError as exc:
            if "no account" in str(exc):
                raise NotFound() from None
            raise ApiError.reason(str(exc)) from None


@bp.get("/accounts")
@admin_required
def list_accounts():
    search = request.args.get("search", "").strip()
    with database().reader() as session:
        return {"data": [_account_json(a) for a in accounts.listing(session, search)]}


@bp.post("/accounts")
@admin_required
def create_account():
    doc = load(AccountCreateSchema(), body())
    return _change(accounts.create, doc["email"], doc["tags"])


@bp.get("/accounts/<int:account_id>")
@admin_required
def get_account(account_id):
    return _change(accounts.get, account_id)


@bp.post("/accounts/<int:account_id>/tags")
@admin_required
def tag_account(account_id):
    tag = load(AccountTagSchema(), body())["tag"]
    return _change(accounts.tag, account_id, tag)


@bp.delete("/accounts/<int:account_id>/tags/<tag>")
@admin_required
def untag_account(account_id, tag):
    return _change(accounts.untag, account_id, tag)


@bp.post("/accounts/<int:account_id>/gpu-instances")
@admin_required
def bring_up_gpu_instance(account_id):
    """The one button: a GPU instance for an account, with a root password shown once."""
    doc = load(GpuInstanceSchema(), body())
    made = console.bring_up(database(), snapshot(), account_id, doc)
    instance, root_pass = made
    return {
        "instance": render.instance(instance, snapshot().types[instance.type_id]),
        "root_pass": root_pass,
        "account_id": account_id,
    }


@bp.get("/instances/<int:instance_id>")
@admin_required
def get_instance(instance_id):
    with database().reader() as session:
        return console.instance_view(session, instance_id)
