"""An instance's disks: /linode/instances/{id}/disks."""

from flask import Blueprint

from cloudapi.api import render_disks, sub_resources
from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, principal
from cloudapi.services import disks

bp = Blueprint("disks", __name__)
BASE = "/linode/instances/<int:instance_id>/disks"
ONE = f"{BASE}/<int:disk_id>"


sub_resources.register(bp, BASE, disks, render_disks.disk, "disk")


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
