"""What a customer does to an existing Linode besides power: resize (and, next, rebuild,
password reset, clone and migrate)."""

from flask import Blueprint

from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, features, principal, snapshot
from cloudapi.services import migrations, resize

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
