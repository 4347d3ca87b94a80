"""What GPU placement reads: candidate nodes from the free counters, and placement views.

Every query here is bounded by CANDIDATE_NODES (never every host of a region) and runs in
the reserving transaction (services/reservations.py says in which order, under which
locks).
"""

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from cloudapi.db.inventory import Allocation, Gpu, Host, NumaNode
from cloudapi.domain import placement
from cloudapi.domain.cpus import parse_cpulist
from cloudapi.services import capacity

CANDIDATE_NODES = 16


def _fits(req, node=NumaNode):
    return (
        node.gpus_free >= req.gpus,
        node.threads_free >= req.vcpus,
        node.memory_free_mb >= req.memory_mb,
    )


def _active(region_id, plan, host=Host):
    """SQL conditions on `host`: in the region, taking instances, with the plan's GPU
    model (an instance never lands on another model)."""
    return (host.region_id == region_id, host.status == "active",
            *capacity.model_filter(plan, host))  # fmt: skip


def best_fit(region_id, req, plan, *columns, limit=CANDIDATE_NODES):
    """The nodes that can take `req` alone, best fitting first, at most `limit`."""
    return (
        select(*columns)
        .join(Host, Host.id == NumaNode.host_id)
        .where(*_active(region_id, plan), *_fits(req))
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


def unheld_best_fit(region_id, req, plan, *columns, limit):
    """best_fit's nodes that no other transaction holds, locked to this one's end
    (FOR UPDATE SKIP LOCKED); a whole node (every GPU free) only when no part-used node
    can take `req`, held or not, so that a busy part-used node is waited for rather than
    a whole one broken."""
    node, host = aliased(NumaNode), aliased(Host)
    part_used = (
        select(node.id)
        .join(host, host.id == node.host_id)
        .where(
            *_active(region_id, plan, host), *_fits(req, node), node.gpus_free < node.gpus_total
        )  # fmt: skip
    )
    spare_whole = or_(NumaNode.gpus_free < NumaNode.gpus_total, ~part_used.exists())
    return (
        best_fit(region_id, req, plan, *columns, limit=limit)
        .where(spare_whole, *_enough_of_model(req, plan))
        .with_for_update(of=NumaNode, skip_locked=True)
    )


def _enough_of_model(req, plan):
    """The node has `req.gpus` free GPUs of the plan's model, not only free GPUs: what
    views() offers placement, so a node locked for placement can always take `req`."""
    wanted = capacity.device_ids(plan)
    if wanted is None:
        return ()
    free = (
        select(func.count(Gpu.id))
        .where(
            Gpu.numa_node_id == NumaNode.id, Gpu.instance_id.is_(None), Gpu.device_id.in_(wanted)
        )  # fmt: skip
        .scalar_subquery()
    )
    return (free >= req.gpus,)


def candidate_hosts(session, region_id, req, plan):
    """Host ids worth considering: best-fitting single nodes, else hosts with room overall."""
    found = list(dict.fromkeys(session.scalars(best_fit(region_id, req, plan, NumaNode.host_id))))
    if found or req.affinity != placement.PREFERRED:
        return found
    roomy = (
        select(NumaNode.host_id)
        .join(Host, Host.id == NumaNode.host_id)
        .where(*_active(region_id, plan))
        .group_by(NumaNode.host_id)
        .having(func.sum(NumaNode.gpus_free) >= req.gpus)
        .order_by(func.sum(NumaNode.gpus_free), NumaNode.host_id)
        .limit(CANDIDATE_NODES)
    )
    return list(session.scalars(roomy))


def views(session, host_ids, plan, offered=None):
    """Placement views of the given hosts (their free GPUs of the plan's model only), each
    node's generation, and the hosts by id (the chosen one is the reservation's).

    With `offered` (node ids), only those nodes are in the views; the others' free GPUs
    still count for the tie-break towards the fuller host.
    """
    if not host_ids:
        return [], {}, {}
    hosts = session.scalars(select(Host).where(Host.id.in_(host_ids)).order_by(Host.id)).all()
    nodes = session.scalars(
        select(NumaNode).where(NumaNode.host_id.in_(host_ids)).order_by(NumaNode.node)
    ).all()
    node_ids = [n.id for n in nodes]
    wanted = capacity.device_ids(plan)
    model = () if wanted is None else (Gpu.device_id.in_(wanted),)
    free = session.execute(
        select(Gpu.id, Gpu.pci_address, Gpu.numa_node_id)
        .where(Gpu.numa_node_id.in_(node_ids), Gpu.instance_id.is_(None), *model)
        .order_by(Gpu.pci_address)
    ).all()
    taken = session.execute(
        select(Allocation.numa_node_id, Allocation.threads).where(
            Allocation.numa_node_id.in_(node_ids), Allocation.released_at.is_(None)
        )
    ).all()
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
