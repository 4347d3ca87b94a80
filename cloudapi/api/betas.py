"""Betas, as Linode shows early access: /betas and /account/betas."""

from flask import Blueprint, current_app

from cloudapi.api import render
from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, principal
from cloudapi.api.pagination import page_request, paginate_list
from cloudapi.api.principals import forget_account
from cloudapi.schemas import load
from cloudapi.schemas.admin import BetaEnrollSchema
from cloudapi.services import betas

bp = Blueprint("betas", __name__)


@bp.get("/betas")
@customer_required(None)
def list_betas():
    with database().reader() as session:
        return paginate_list(betas.open_betas(session), page_request(), render.beta)


@bp.get("/betas/<beta_id>")
@customer_required(None)
def get_beta(beta_id):
    with database().reader() as session:
        return render.beta(betas.get_open(session, beta_id))


@bp.get("/account/betas")
@customer_required("account")
def list_enrolled():
    with database().reader() as session:
        rows = betas.enrolled(session, principal().account_id)
        return paginate_list(rows, page_request(), lambda pair: render.enrolled_beta(*pair))


@bp.get("/account/betas/<beta_id>")
@customer_required("account")
def get_enrolled(beta_id):
    with database().reader() as session:
        return render.enrolled_beta(*betas.enrollment(session, principal().account_id, beta_id))


@bp.post("/account/betas")
@customer_required("account", write=True)
def enroll():
    doc = load(BetaEnrollSchema(), body())
    betas.enroll(database(), principal().account_id, doc["id"])
    forget_account(current_app, principal().account_id)
    return {}
