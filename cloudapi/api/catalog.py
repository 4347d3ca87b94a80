"""Public catalog endpoints: plan types, regions, images."""

import json
import re

from flask import Blueprint, request

from cloudapi import filters
from cloudapi.api import render
from cloudapi.api.context import database, features, json_bytes, principal, snapshot
from cloudapi.api.pagination import page_request, paginate_list
from cloudapi.errors import NotFound
from cloudapi.services import availability, capacity, instances

bp = Blueprint("catalog", __name__)
PLAN_ID = re.compile(r"[a-z0-9-]{1,64}")  # the shape of every plan id, hidden or not

TYPE_FIELDS = {
    "class": "str", "disk": "int", "gpus": "int", "label": "str", "memory": "int",
    "network_out": "int", "transfer": "int", "vcpus": "int", "accelerated_devices": "int",
}  # fmt: skip
REGION_FIELDS = {"country": "str", "site_type": "str", "status": "str", "id": "str"}
IMAGE_FIELDS = {
    "label": "str", "vendor": "str", "deprecated": "bool", "size": "int", "id": "str",
    "is_public": "bool", "type": "str", "created_by": "str",
}  # fmt: skip


def _filtered_page(items, fields, render_item):
    flt = filters.parse(request.headers.get("X-Filter"), fields)
    chosen = filters.apply(items, flt, lambda obj, name: render_item(obj).get(name))
    return paginate_list(chosen, page_request(), render_item)


@bp.get("/linode/types")
def list_types():
    # The answer depends only on the caller's features and the query, so it is rendered
    # once per catalog snapshot and served as bytes after that.
    snap, feats = snapshot(), features()
    key = ("types", feats, request.query_string, request.headers.get("X-Filter"))
    cached = snap.rendered.get(key)
    if cached is None:
        page = _filtered_page(snap.visible_types(feats), TYPE_FIELDS, render.linode_type)
        cached = json.dumps(page, separators=(",", ":")).encode()
        if len(snap.rendered) < 1024:
            snap.rendered[key] = cached
    return json_bytes(cached)


@bp.get("/linode/types/<type_id>")
def get_type(type_id):
    snap = snapshot()
    found = snap.visible_type(type_id, features())
    # After a rollback, owners can still read their plan. The ownership query runs for any
    # id the caller cannot see, existing or not, so a hidden plan's 404 costs exactly what
    # a nonexistent one's does: its timing tells nothing.
    if found is None and _owns_instance_of(type_id):
        found = snap.types.get(type_id)
    if found is None:
        raise NotFound()
    return render.linode_type(found)


def _owns_instance_of(type_id):
    caller = principal()
    if caller is None or not PLAN_ID.fullmatch(type_id):
        return False
    with database().reader() as session:
        return instances.owns_type(session, caller.account_id, type_id)


def _render_region(snap, feats):
    return lambda r: render.region(r, snap.capabilities(r, feats))


@bp.get("/regions")
def list_regions():
    snap = snapshot()
    regions = list(snap.regions.values())
    return _filtered_page(regions, REGION_FIELDS, _render_region(snap, features()))


def _region_availability(regions):
    snap = snapshot()
    with database().reader() as session:
        placeable = capacity.available_plans(session, snap)
    return availability.for_regions(snap, regions, features(), placeable)


@bp.get("/regions/availability")
def list_region_availability():
    items = _region_availability(list(snapshot().regions.values()))
    return paginate_list(items, page_request(), lambda item: item)


@bp.get("/regions/<region_id>/availability")
def get_region_availability(region_id):
    region = snapshot().regions.get(region_id)
    if region is None:
        raise NotFound()
    return json_bytes(json.dumps(_region_availability([region])))  # a bare array, as Linode


@bp.get("/regions/<region_id>")
def get_region(region_id):
    snap = snapshot()
    found = snap.regions.get(region_id)
    if found is None:
        raise NotFound()
    return render.region(found, snap.capabilities(found, features()))


@bp.get("/images")
def list_images():
    return _filtered_page(list(snapshot().images.values()), IMAGE_FIELDS, render.image)


@bp.get("/images/<path:image_id>")
def get_image(image_id):
    found = snapshot().images.get(image_id)
    if found is None:
        raise NotFound()
    return render.image(found)
