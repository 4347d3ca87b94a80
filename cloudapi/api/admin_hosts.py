"""Admin endpoints for the GPU inventory: hosts and capacity."""

from flask import Blueprint, current_app, request

from cloudapi.api import render_admin
from cloudapi.api.auth import admin_required, load_admin_principal
from cloudapi.api.context import body, database, snapshot
from cloudapi.schemas import load
from cloudapi.schemas.admin import HostStatusSchema
from cloudapi.services import capacity, hosts, migrations

bp = Blueprint("admin_hosts", __name__)
bp.before_request(load_admin_principal)


def _changed():
    """Inventory changed: this process's catalog (GPU regions) is reloaded on next use."""
    current_app.extensions["cloudapi.catalog"].invalidate()


@bp.get("/hosts")
@admin_required
def list_hosts():
    return {
        "data": [render_admin.host(h) for h in hosts.search(database(), request.args.get("region"))]
    }


@bp.post("/hosts")
@admin_required
def add_host():
    host = hosts.add(database(), body())
    _changed()
    return render_admin.host(host)


@bp.get("/hosts/<hostname>")
@admin_required
def get_host(hostname):
    return render_admin.host(hosts.find(database(), hostname))


@bp.post("/hosts/<hostname>/status")
@admin_required
def set_host_status(hostname):
    status = load(HostStatusSchema(), body())["status"]
    host = hosts.change_status(database(), hostname, status)
    _changed()
    return render_admin.host(host)


@bp.post("/hosts/<hostname>/drain")
@admin_required
def drain_host(hostname):
    """Mark the host draining and migrate its GPU instances to the region's other hosts."""
    drained = migrations.drain(database(), snapshot(), hostname)
    _changed()
    return drained._asdict()


@bp.get("/capacity")
@admin_required
def get_capacity():
    with database().reader() as session:
        return capacity.report(session, snapshot(), request.args.get("region"))
