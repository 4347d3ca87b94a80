"""Admin endpoints for the GPU inventory: hosts and capacity."""

from flask import Blueprint, current_app, request

from cloudapi.api.auth import admin_required, load_admin_principal
from cloudapi.api.context import body, database, snapshot
from cloudapi.errors import ApiError, NotFound
from cloudapi.schemas import load
from cloudapi.schemas.admin import HostStatusSchema
from cloudapi.services import capacity, hosts

bp = Blueprint("admin_hosts", __name__)
bp.before_request(load_admin_principal)


def host_json(host):
    return {
        "id": host.id, "hostname": host.hostname, "uuid": host.uuid, "region": host.region_id,
        "status": host.status, "reserved_cpus": host.reserved_cpus,
        "numa_nodes": [{
            "node": n.node, "cpus": n.cpus, "memory_mb": n.memory_mb,
            "hugepages_1g": n.hugepages_1g, "hugepages_2m": n.hugepages_2m,
            "gpus_total": n.gpus_total, "gpus_free": n.gpus_free,
            "threads_total": n.threads_total, "threads_free": n.threads_free,
            "memory_free_mb": n.memory_free_mb,
        } for n in host.nodes],
        "gpus": [{
            "pci_address": g.pci_address, "vendor_id": g.vendor_id, "device_id": g.device_id,
            "model": g.model, "numa_node": next(n.node for n in host.nodes
                                                if n.id == g.numa_node_id),
            "iommu_group": g.iommu_group, "iommu_functions": list(g.iommu_functions),
            "instance_id": g.instance_id,
        } for g in host.gpus],
    }  # fmt: skip


def _changed():
    """Inventory changed: this process's catalog (GPU regions) is reloaded on next use."""
    current_app.extensions["cloudapi.catalog"].invalidate()


@bp.get("/hosts")
@admin_required
def list_hosts():
    with database().reader() as session:
        return {"data": [host_json(h) for h in hosts.listing(session, request.args.get("region"))]}


@bp.post("/hosts")
@admin_required
def add_host():
    with database().transaction() as session:
        host = hosts.register(session, body())
        made = host_json(host)
    _changed()
    return made


@bp.get("/hosts/<hostname>")
@admin_required
def get_host(hostname):
    with database().reader() as session:
        try:
            return host_json(hosts.get(session, hostname))
        except hosts.HostError:
            raise NotFound() from None


@bp.post("/hosts/<hostname>/status")
@admin_required
def set_host_status(hostname):
    status = load(HostStatusSchema(), body())["status"]
    try:
        with database().transaction() as session:
            made = host_json(hosts.set_status(session, hostname, status))
    except hosts.HostError as exc:
        if "no host" in str(exc):
            raise NotFound() from None
        raise ApiError.field("status", str(exc)) from None
    _changed()
    return made


@bp.get("/capacity")
@admin_required
def get_capacity():
    with database().reader() as session:
        return capacity.report(session, snapshot(), request.args.get("region"))
