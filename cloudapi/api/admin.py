"""Admin endpoints: reached only with an admin token."""

from flask import Blueprint, current_app, request

from cloudapi.api import render, render_admin
from cloudapi.api.auth import admin_required, load_admin_principal
from cloudapi.api.context import body, database, snapshot
from cloudapi.api.principals import forget_account
from cloudapi.schemas import load
from cloudapi.schemas.admin import AccountCreateSchema, AccountTagSchema
from cloudapi.services import accounts, console

bp = Blueprint("admin", __name__)


bp.before_request(load_admin_principal)


def _changed(account):
    """An account's tags changed: this process forgets its cached principals at once."""
    forget_account(current_app, account.id)
    return render_admin.account(account)


@bp.get("/accounts")
@admin_required
def list_accounts():
    found = accounts.search(database(), request.args.get("search", "").strip())
    return {"data": [render_admin.account(a) for a in found]}


@bp.post("/accounts")
@admin_required
def create_account():
    doc = load(AccountCreateSchema(), body())
    return _changed(accounts.open_account(database(), doc["email"], doc["tags"]))


@bp.get("/accounts/<int:account_id>")
@admin_required
def get_account(account_id):
    return render_admin.account(accounts.find(database(), account_id))


@bp.post("/accounts/<int:account_id>/tags")
@admin_required
def tag_account(account_id):
    tag = load(AccountTagSchema(), body())["tag"]
    return _changed(accounts.add_tag(database(), account_id, tag))


@bp.delete("/accounts/<int:account_id>/tags/<tag>")
@admin_required
def untag_account(account_id, tag):
    return _changed(accounts.remove_tag(database(), account_id, tag))


@bp.post("/accounts/<int:account_id>/gpu-instances")
@admin_required
def bring_up_gpu_instance(account_id):
    """The one button: a GPU instance for an account, with a root password shown once."""
    instance, root_pass = console.bring_up(database(), snapshot(), account_id, body())
    return {
        "instance": render.instance(instance, snapshot().types[instance.type_id]),
        "root_pass": root_pass,
        "account_id": account_id,
    }


@bp.get("/instances/<int:instance_id>")
@admin_required
def get_instance(instance_id):
    return render_admin.followed_instance(console.follow(database(), instance_id))
