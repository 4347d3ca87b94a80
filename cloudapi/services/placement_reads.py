"""What GPU placement reads: candidate nodes from the free counters, and placement views.

Every query here is bounded by CANDIDATE_NODES (never every host of a region) and runs in
the reserving transaction (services/reservations.py says in which order, under which
locks).
"""

import functools

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import aliased

from cloudapi.db.inventory import Allocation, Gpu, Host, NumaNode
from cloudapi.domain import placement
from cloudapi.domain.cpus import parse_cpulist
from cloudapi.services import capacity

CANDIDATE_NODES = 16


def params(region_id, req, plan):
    """The bind parameters of this module's statements for `req` of `plan` in a region."""
    return {"region": region_id, "gpus": req.gpus, "vcpus": req.vcpus,
            "memory": req.memory_mb, "devices": list(capacity.device_ids(plan) or ())}  # fmt: skip


def _fits(node=NumaNode):
    return (
        node.gpus_free >= bindparam("gpus"),
        node.threads_free >= bindparam("vcpus"),
        node.memory_free_mb >= bindparam("memory"),
    )


def _active(model, host=Host):
    """SQL conditions on `host`: in the region, taking instances, and with `model`, GPUs
    of the plan's model (an instance never lands on another model)."""
    gpu = select(Gpu.id).where(Gpu.host_id == host.id, Gpu.device_id.in_(_DEVICES))
    return (host.region_id == bindparam("region"), host.status == "active",
            *((gpu.exists(),) if model else ()))  # fmt: skip


_DEVICES = bindparam("devices", expanding=True)


def _best_fit(model, *columns, limit=CANDIDATE_NODES):
    """The nodes that can take the request alone, best fitting first, at most `limit`."""
    return (
        select(*columns)
        .join(Host, Host.id == NumaNode.host_id)
        .where(*_active(model), *_fits())
        # Ascending free amounts = best fit first (the request's size is the same for all
        # rows); plain columns so that ix_numa_nodes_free yields this order without a sort.
        .order_by(
            NumaNode.gpus_free,
            NumaNode.threads_free,
            NumaNode.memory_free_mb,
            NumaNode.host_id,
            NumaNode.node,
        )
        .limit(limit)
    )


@functools.cache
def unheld_best_fit(model, limit, lock=True):
    """(built once per arguments: building it cost more than running it) The best fitting
    nodes (id, host_id) that no other transaction holds, locked to this one's end
    (FOR UPDATE SKIP LOCKED); a whole node (every GPU free) only when no part-used node
    can take the request, held or not, so that a busy part-used node is waited for rather
    than a whole one broken. `model`: the plan needs a GPU model (params' "devices").

    Without `lock`, the same nodes held or not, read only: whether waiting for their
    holders can help. (Waiting in a blocking FOR UPDATE would not do: a row it waited for
    and found no longer fitting stays locked by the waiter while it waits for the next
    one, and such waiters queue behind each other until the statement times out.)"""
    node, host = aliased(NumaNode), aliased(Host)
    part_used = (
        select(node.id)
        .join(host, host.id == node.host_id)
        .where(*_active(model, host), *_fits(node), node.gpus_free < node.gpus_total)
    )
    spare_whole = or_(NumaNode.gpus_free < NumaNode.gpus_total, ~part_used.exists())
    found = _best_fit(model, NumaNode.id, NumaNode.host_id, limit=limit).where(
        spare_whole, *_enough_of_model(model)
    )
    return found.with_for_update(of=NumaNode, skip_locked=True) if lock else found


def _enough_of_model(model):
    """The node has the request's free GPUs of the plan's model, not only free GPUs: what
    views() offers placement, so a node locked for placement can always take it."""
    if not model:
        return ()
    free = (
        select(func.count(Gpu.id))
        .where(
            Gpu.numa_node_id == NumaNode.id, Gpu.instance_id.is_(None), Gpu.device_id.in_(_DEVICES)
        )  # fmt: skip
        .scalar_subquery()
    )
    return (free >= bindparam("gpus"),)


@functools.cache
def _candidates(model):
    best = _best_fit(model, NumaNode.host_id)
    roomy = (
        select(NumaNode.host_id)
        .join(Host, Host.id == NumaNode.host_id)
        .where(*_active(model))
        .group_by(NumaNode.host_id)
        .having(func.sum(NumaNode.gpus_free) >= bindparam("gpus"))
        .order_by(func.sum(NumaNode.gpus_free), NumaNode.host_id)
        .limit(CANDIDATE_NODES)
    )
    return best, roomy


def candidate_hosts(session, region_id, req, plan):
    """Host ids worth considering: best-fitting single nodes, else hosts with room overall."""
    bound = params(region_id, req, plan)
    best, roomy = _candidates(bool(bound["devices"]))
    found = list(dict.fromkeys(session.scalars(best, bound)))
    if found or req.affinity != placement.PREFERRED:
        return found
    return list(session.scalars(roomy, bound))


_HOSTS = select(Host).where(Host.id.in_(bindparam("hosts", expanding=True))).order_by(Host.id)
_NODES = (
    select(NumaNode)
    .where(NumaNode.host_id.in_(bindparam("hosts", expanding=True)))
    .order_by(NumaNode.node)
)
_TAKEN = select(Allocation.numa_node_id, Allocation.threads).where(
    Allocation.numa_node_id.in_(bindparam("nodes", expanding=True)),
    Allocation.released_at.is_(None),
)


@functools.cache
def _free(model):
    return (
        select(Gpu.id, Gpu.pci_address, Gpu.numa_node_id)
        .where(Gpu.numa_node_id.in_(bindparam("nodes", expanding=True)),
               Gpu.instance_id.is_(None), *((Gpu.device_id.in_(_DEVICES),) if model else ()))
        .order_by(Gpu.pci_address)
    )  # fmt: skip


def views(session, host_ids, plan, offered=None):
    """Placement views of the given hosts (their free GPUs of the plan's model only), each
    node's generation, and the hosts by id (the chosen one is the reservation's).

    With `offered` (node ids), only those nodes are in the views; the others' free GPUs
    still count for the tie-break towards the fuller host.
    """
    if not host_ids:
        return [], {}, {}
    hosts = session.scalars(_HOSTS, {"hosts": list(host_ids)}).all()
    nodes = session.scalars(_NODES, {"hosts": list(host_ids)}).all()
    node_ids = [n.id for n in nodes]
    devices = list(capacity.device_ids(plan) or ())
    free = session.execute(_free(bool(devices)), {"nodes": node_ids, "devices": devices}).all()
    taken = session.execute(_TAKEN, {"nodes": node_ids}).all()
    used = {}
    for node_id, threads in taken:
        used.setdefault(node_id, set()).update(threads)
    reserved = {h.id: set(parse_cpulist(h.reserved_cpus)) for h in hosts}
    gpus_of = {}  # node id -> its free GPUs, in PCI address order
    for gpu_id, pci_address, node_id in free:
        gpus_of.setdefault(node_id, []).append(placement.GpuView(gpu_id, pci_address))
    by_host, unoffered = {}, {}
    for n in nodes:
        gpus = tuple(gpus_of.get(n.id, ()))
        if offered is not None and n.id not in offered:
            unoffered[n.host_id] = unoffered.get(n.host_id, 0) + len(gpus)
            continue
        blocked = reserved[n.host_id] | used.get(n.id, set())
        threads = tuple(t for t in parse_cpulist(n.cpus) if t not in blocked)
        view = placement.NodeView(n.id, n.node, gpus, threads, n.memory_free_mb)
        by_host.setdefault(n.host_id, []).append(view)
    views = [placement.HostView(h.id, h.hostname, h.status, tuple(by_host.get(h.id, ())),
                                unoffered.get(h.id, 0))
             for h in hosts]  # fmt: skip
    return views, {n.id: n.generation for n in nodes}, {h.id: h for h in hosts}
