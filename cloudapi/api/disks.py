"""An instance's disks: /linode/instances/{id}/disks."""

from flask import Blueprint

from cloudapi.api import render_disks
from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, owned, principal
from cloudapi.api.pagination import listed
from cloudapi.services import disks

bp = Blueprint("disks", __name__)
BASE = "/linode/instances/<int:instance_id>/disks"
ONE = f"{BASE}/<int:disk_id>"


@bp.get(BASE)
@customer_required("linodes")
def list_disks(instance_id):
    return listed(disks.listing, render_disks.disk, instance_id)


@bp.post(BASE)
@customer_required("linodes", write=True)
def create_disk(instance_id):
    return render_disks.disk(disks.create(database(), principal(), instance_id, body()))


@bp.get(ONE)
@customer_required("linodes")
def get_disk(instance_id, disk_id):
    return owned(disks.get, instance_id, disk_id, render=render_disks.disk)


@bp.put(ONE)
@customer_required("linodes", write=True)
def update_disk(instance_id, disk_id):
    updated = disks.update(database(), principal(), instance_id, disk_id, body())
    return render_disks.disk(updated)


@bp.delete(ONE)
@customer_required("linodes", write=True)
def delete_disk(instance_id, disk_id):
    disks.delete(database(), principal(), instance_id, disk_id)
    return {}


@bp.post(f"{ONE}/resize")
@customer_required("linodes", write=True)
def resize_disk(instance_id, disk_id):
    disks.resize(database(), principal(), instance_id, disk_id, body())
    return {}


@bp.post(f"{ONE}/clone")
@customer_required("linodes", write=True)
def clone_disk(instance_id, disk_id):
    copy = disks.clone(database(), principal(), instance_id, disk_id, body(optional=True))
    return render_disks.disk(copy)


@bp.post(f"{ONE}/password")
@customer_required("linodes", write=True)
def reset_disk_password(instance_id, disk_id):
    disks.reset_password(database(), principal(), instance_id, disk_id, body())
    return {}
