"""An instance's backups, usage (stats, transfer) and the products attached to it.

Stats and transfer come from what the host agents report; they report no samples yet, so
the series are empty and the counters zero, in Linode's shapes. Volumes and NodeBalancers
are not offered here, so an instance has none of either.
"""

from flask import Blueprint

from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, owned, principal, snapshot
from cloudapi.api.pagination import page_request, paginate_list
from cloudapi.errors import NotFound
from cloudapi.services import backups, instances

bp = Blueprint("instance_extras", __name__)
BASE = "/linode/instances/<int:instance_id>"


@bp.get(f"{BASE}/backups")
@customer_required("linodes")
def list_backups(instance_id):
    return owned(backups.available, instance_id)


@bp.post(f"{BASE}/backups/<any(enable, cancel):action>")
@customer_required("linodes", write=True)
def enable_or_cancel_backups(instance_id, action):
    body(optional=True)  # Linode takes no body; a malformed one is still a clean 400
    backups.set_enabled(database(), principal(), instance_id, action == "enable")
    return {}


@bp.post(f"{BASE}/backups")
@customer_required("linodes", write=True)
def take_snapshot(instance_id):
    body(optional=True)
    backups.snapshot(database(), principal(), instance_id)


def _no_backup(instance_id):
    owned(instances.get, instance_id)  # another account's instance is as missing as this
    raise NotFound()


@bp.get(f"{BASE}/backups/<int:backup_id>")
@customer_required("linodes")
def get_backup(instance_id, backup_id):
    _no_backup(instance_id)


@bp.post(f"{BASE}/backups/<int:backup_id>/restore")
@customer_required("linodes", write=True)
def restore_backup(instance_id, backup_id):
    _no_backup(instance_id)


@bp.get(f"{BASE}/stats")
@bp.get(f"{BASE}/stats/<int:year>/<int:month>")
@customer_required("linodes")
def get_stats(instance_id, year=None, month=None):
    instance = owned(instances.get, instance_id)
    period = "day (5 min avg)" if year is None else f"{year}-{month:02d}"
    lanes = ("in", "out", "private_in", "private_out")
    return {
        "title": f"linode.com - {instance.label} (linode{instance.id}) - {period}",
        "cpu": [],
        "io": {"io": [], "swap": []},
        "netv4": {lane: [] for lane in lanes},
        "netv6": {lane: [] for lane in lanes},
    }


@bp.get(f"{BASE}/transfer")
@customer_required("linodes")
def get_transfer(instance_id):
    instance = owned(instances.get, instance_id)
    return {"used": 0, "quota": snapshot().types[instance.type_id].transfer, "billable": 0}


@bp.get(f"{BASE}/transfer/<int:year>/<int:month>")
@customer_required("linodes")
def get_monthly_transfer(instance_id, year, month):
    owned(instances.get, instance_id)
    return {"bytes_in": 0, "bytes_out": 0, "bytes_total": 0}


@bp.get(f"{BASE}/<any(volumes, nodebalancers):product>")
@customer_required("linodes")
def list_attached(instance_id, product):
    owned(instances.get, instance_id)
    return paginate_list([], page_request(), dict)
