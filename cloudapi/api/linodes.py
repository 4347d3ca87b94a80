"""Linode instances: list, create, read, update, delete, and power actions."""

from functools import partial

from flask import Blueprint, request

from cloudapi.api import render
from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, features, principal, snapshot
from cloudapi.api.pagination import listed_rows
from cloudapi.db import instance_rows
from cloudapi.errors import Invalid, NotFound
from cloudapi.services import instance_updates, instances

bp = Blueprint("linodes", __name__)


def _render(instance, snap=None):
    snap = snap or snapshot()
    region = snap.regions.get(instance.region_id)
    site_type = region.site_type if region is not None else "core"
    return render.instance(instance, snap.types[instance.type_id], site_type)


def _row_renderer(snap):
    """Render rows of cloudapi/db/instance_rows.py with one catalog; each plan's `specs`
    is built once a page and shared by its Linodes (they are serialized, never changed)."""
    plans = {}

    def render_row(row):
        region = snap.regions.get(row.region_id)
        site_type = region.site_type if region is not None else "core"
        plan_specs = plans.get(row.type_id)
        if plan_specs is None:
            plan_specs = plans[row.type_id] = render.specs(snap.types[row.type_id])
        return render.linode_row(row, plan_specs, site_type)

    return render_row


@bp.get("/linode/instances")
@customer_required("linodes")
def list_instances():
    """Rows, not ORM objects: the list is what Cloud Manager polls and Terraform reads."""
    listing = partial(instance_rows.listing, sql_fields=instances.SQL_FIELDS)
    return listed_rows(listing, _row_renderer(snapshot()), instances.FILTERABLE)


@bp.post("/linode/instances")
@customer_required("linodes", write=True)
def create_instance():
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 128 and key.isprintable()):
        raise Invalid.field("Idempotency-Key", "Must be 1-128 printable characters")
    args = (database(), snapshot(), principal(), features(), body())
    if key is None:
        return _render(instances.create(*args))
    return instances.create_once(*args, key, _render)  # the first create's response


@bp.get("/linode/instances/<int:instance_id>")
@customer_required("linodes")
def get_instance(instance_id):
    found = instance_rows.one(database(), principal().account_id, instance_id)
    if found is None:
        raise NotFound()
    return _row_renderer(snapshot())(found)


@bp.put("/linode/instances/<int:instance_id>")
@customer_required("linodes", write=True)
def update_instance(instance_id):
    updated = instance_updates.update(database(), principal(), instance_id, body(), _render)
    return _render(updated)


@bp.delete("/linode/instances/<int:instance_id>")
@customer_required("linodes", write=True)
def delete_instance(instance_id):
    instances.power(database(), principal(), instance_id, "delete")
    return {}


def _power_view(action):
    @customer_required("linodes", write=True)
    def view(instance_id):
        instances.power(database(), principal(), instance_id, action, body(optional=True))
        return {}

    view.__name__ = f"{action}_instance"
    return view


for _action in ("boot", "reboot", "shutdown"):
    bp.add_url_rule(
        f"/linode/instances/<int:instance_id>/{_action}",
        view_func=_power_view(_action),
        methods=["POST"],
    )
