"""Registering GPU hosts and changing their status."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cloudapi.db.catalog import Region
from cloudapi.db.inventory import HOST_STATUSES, Gpu, Host, NumaNode
from cloudapi.domain.cpus import parse_cpulist
from cloudapi.errors import Conflict, Invalid, NotFound
from cloudapi.schemas import load
from cloudapi.schemas.hosts import HostSchema

# Host UUIDs are derived from the hostname, so re-registering a host keeps its UUID.
HOST_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://cloudapi.invalid/host")


def register(session, description):
    """Validate a host description and add the host, its NUMA nodes and GPUs."""
    data = load(HostSchema(), description)
    if session.get(Region, data["region"]) is None:
        raise Invalid.field("region", "A valid region by that ID was not found")
    if session.scalar(select(Host.id).where(Host.hostname == data["hostname"])) is not None:
        raise Conflict.field("hostname", "A host with this hostname is already registered")
    reserved = set(parse_cpulist(data["reserved_cpus"]))
    host = Host(
        hostname=data["hostname"],
        uuid=str(uuid.uuid5(HOST_NAMESPACE, data["hostname"])),
        region_id=data["region"],
        status="active",
        reserved_cpus=data["reserved_cpus"],
    )
    by_index = {}
    for n in data["numa_nodes"]:
        threads = [t for t in parse_cpulist(n["cpus"]) if t not in reserved]
        gpus = [g for g in data["gpus"] if (g["numa_node"] or 0) == n["node"]]
        node = NumaNode(
            node=n["node"], cpus=n["cpus"], memory_mb=n["memory_mb"],
            hugepages_1g=n["hugepages_1g"], hugepages_2m=n["hugepages_2m"],
            gpus_total=len(gpus), gpus_free=len(gpus),
            threads_total=len(threads), threads_free=len(threads),
            memory_free_mb=n["memory_mb"],
        )  # fmt: skip
        host.nodes.append(node)
        by_index[n["node"]] = node
    session.add(host)
    session.flush()
    for g in data["gpus"]:
        node = by_index[g["numa_node"] or 0]
        host.gpus.append(Gpu(
            numa_node_id=node.id, pci_address=g["pci_address"], vendor_id=g["vendor_id"],
            device_id=g["device_id"], model=g["model"], iommu_group=g["iommu_group"],
            iommu_functions=g["iommu_functions"] or [g["pci_address"]],
        ))  # fmt: skip
    session.flush()
    return host


def listing(session, region=None):
    query = select(Host).options(selectinload(Host.nodes), selectinload(Host.gpus))
    if region:
        query = query.where(Host.region_id == region)
    return list(session.scalars(query.order_by(Host.region_id, Host.hostname)))


def get(session, hostname):
    host = session.scalar(
        select(Host)
        .options(selectinload(Host.nodes), selectinload(Host.gpus))
        .where(Host.hostname == hostname)
    )
    if host is None:
        raise NotFound.reason(f"no host named {hostname!r}")
    return host


def set_status(session, hostname, status):
    """active takes new instances; maintenance and draining keep theirs and take none."""
    if status not in HOST_STATUSES:
        raise Invalid.field("status", f"status must be one of {', '.join(HOST_STATUSES)}")
    host = get(session, hostname)
    host.status = status
    return host


def gpu_devices(session):
    """Per region, the PCI device ids of the GPUs on its active hosts."""
    query = (
        select(Host.region_id, Gpu.device_id)
        .join(Gpu, Gpu.host_id == Host.id)
        .where(Host.status == "active")
        .distinct()
    )
    found = {}
    for region_id, device_id in session.execute(query):
        found.setdefault(region_id, set()).add(device_id)
    return {region_id: frozenset(devices) for region_id, devices in found.items()}


# -- the use cases: each in a transaction of its own (the admin API and the CLI) -----------
# The host returned keeps its NUMA nodes and GPUs loaded (the session does not expire
# objects at commit), so callers can render it after the transaction.


def add(database, description):
    """register, committed in a transaction of its own; returns the host."""
    with database.transaction() as session:
        return register(session, description)


def change_status(database, hostname, status):
    """set_status, committed in a transaction of its own; returns the host."""
    with database.transaction() as session:
        return set_status(session, hostname, status)


def find(database, hostname):
    """One host with its NUMA nodes and GPUs, read."""
    with database.reader() as session:
        return get(session, hostname)


def search(database, region=None):
    """Hosts (of one region, or all) with their NUMA nodes and GPUs, read."""
    with database.reader() as session:
        return listing(session, region)
