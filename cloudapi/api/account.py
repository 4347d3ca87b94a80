"""The caller's account, profile and events."""

from flask import Blueprint

from cloudapi.api import render
from cloudapi.api.auth import customer_required
from cloudapi.api.context import database, features, owned, principal, snapshot
from cloudapi.api.pagination import listed_rows, page_request, paginate_list
from cloudapi.errors import NotFound
from cloudapi.services import accounts, availability, capacity, events

bp = Blueprint("account", __name__)


@bp.get("/account")
@customer_required("account")
def get_account():
    snap = snapshot()
    capabilities = snap.account_capabilities(
        ["Linodes", *sorted(snap.launches.capabilities)], features()
    )
    return owned(accounts.get, render=lambda account: render.account(account, capabilities))


@bp.get("/profile")
@customer_required(None)
def get_profile():
    return owned(accounts.get, render=render.profile)


@bp.get("/account/events")
@customer_required("events")
def list_events():
    return listed_rows(events.rows_listing, render.event, events.FILTERABLE)


@bp.get("/account/events/<int:event_id>")
@customer_required("events")
def get_event(event_id):
    return owned(events.get, event_id, render=render.event)


@bp.post("/account/events/<int:event_id>/<any(seen, read):flag>")
@customer_required("events", write=True)
def mark_event(event_id, flag):
    events.mark(database(), principal().account_id, event_id, flag)
    return {}


def _account_availability():
    snap, feats = snapshot(), features()
    with database().reader() as session:
        placeable = capacity.available_plans(session, snap)

    def render_one(region):
        sellable = {plan for region_id, plan in placeable if region_id == region.id}
        return availability.for_account(snap, region, feats, sellable)

    return snap, render_one


@bp.get("/account/availability")
@customer_required("account")
def list_availability():
    snap, render_one = _account_availability()
    return paginate_list(list(snap.regions.values()), page_request(), render_one)


@bp.get("/account/availability/<region_id>")
@customer_required("account")
def get_availability(region_id):
    snap, render_one = _account_availability()
    if region_id not in snap.regions:
        raise NotFound()
    return render_one(snap.regions[region_id])
