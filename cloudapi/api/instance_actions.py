"""What a customer does to an existing Linode besides power: resize (and, next, rebuild,
password reset, clone and migrate)."""

from flask import Blueprint

from cloudapi.api import render
from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, features, principal, snapshot
from cloudapi.services import clone, migrations, rebuild, resize

bp = Blueprint("instance_actions", __name__)
BASE = "/linode/instances/<int:instance_id>"


@bp.post(f"{BASE}/resize")
@customer_required("linodes", write=True)
def resize_instance(instance_id):
    resize.resize(database(), snapshot(), principal(), features(), instance_id, body())
    return {}


@bp.post(f"{BASE}/migrate")
@customer_required("linodes", write=True)
def migrate_instance(instance_id):
    migrations.migrate(database(), snapshot(), principal(), instance_id, body(optional=True))
    return {}


def _linode(instance, snap):
    """The Linode as a GET shows it: what Linode answers a rebuild and a clone with."""
    region = snap.regions.get(instance.region_id)
    site_type = region.site_type if region is not None else "core"
    return render.instance(instance, snap.types[instance.type_id], site_type)


@bp.post(f"{BASE}/rebuild")
@customer_required("linodes", write=True)
def rebuild_instance(instance_id):
    snap = snapshot()
    rebuilt = rebuild.rebuild(database(), snap, principal(), features(), instance_id, body())
    return _linode(rebuilt, snap)


@bp.post(f"{BASE}/password")
@customer_required("linodes", write=True)
def reset_instance_password(instance_id):
    rebuild.reset_password(database(), principal(), instance_id, body())
    return {}


@bp.post(f"{BASE}/clone")
@customer_required("linodes", write=True)
def clone_instance(instance_id):
    snap = snapshot()
    target = clone.clone(database(), snap, principal(), features(), instance_id, body())
    return _linode(target, snap)
