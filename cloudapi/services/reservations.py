"""Reserving GPUs, CPU threads and memory for an instance, and releasing them once.

Runs inside the caller's transaction. The protocol for one reservation:

1. Serialise the region. On PostgreSQL the transaction takes a transaction-scoped
   advisory lock keyed by the region (`pg_advisory_xact_lock`, held to commit or
   rollback); on SQLite every write transaction already holds the database's one write
   lock (BEGIN IMMEDIATE). So one reservation per region runs at a time and each reads
   the free counters as the previous one committed them (PostgreSQL's READ COMMITTED
   takes a fresh snapshot per statement). Contenders queue instead of all choosing the
   same best-fit node and failing on it, so a burst is refused only when the region
   really is full, and best fit stays exact.
2. Candidate nodes come from one indexed query over the per-node free counters (never
   every host); placement (pure) chooses among them.
3. The reservation is two conditional UPDATEs per node: the GPUs only if still
   unassigned, the node's counters only if its generation is unchanged. These, not the
   lock, are what guarantee that nothing is sold twice: a writer that does not take the
   lock (`release`, host changes) moves the generation, and the reserver then raises
   `Conflict` and the caller retries the whole transaction.
"""

import random
import time
import zlib

from sqlalchemy import BigInteger, cast, func, select, update

from cloudapi.db.base import utcnow
from cloudapi.db.inventory import Allocation, Gpu, Host, NumaNode
from cloudapi.domain import placement
from cloudapi.domain.cpus import parse_cpulist
from cloudapi.services import capacity

CANDIDATE_NODES = 16
# The high half of the advisory lock key: "GPUR", so that other advisory locks keep clear.
_LOCK_SPACE = 0x47505552 << 32
LOCK_WAIT_SECONDS, LOCK_POLL_MAX = 30.0, 0.05


class Conflict(Exception):
    """A competing transaction reserved the same capacity first."""


def _fits(req):
    return (
        NumaNode.gpus_free >= req.gpus,
        NumaNode.threads_free >= req.vcpus,
        NumaNode.memory_free_mb >= req.memory_mb,
    )


def _candidate_hosts(session, region_id, req, plan):
    """Host ids worth considering: best-fitting single nodes, else hosts with room overall.

    Only hosts with the plan's GPU model: an instance never lands on another model.
    """
    active = (Host.region_id == region_id, Host.status == "active", *capacity.model_filter(plan))
    best_fit = (
        select(NumaNode.host_id)
        .join(Host, Host.id == NumaNode.host_id)
        .where(*active, *_fits(req))
        # Ascending free amounts = best fit first (the request's size is the same for all
        # rows); plain columns so that ix_numa_nodes_free yields this order without a sort.
        .order_by(
            NumaNode.gpus_free,
            NumaNode.threads_free,
            NumaNode.memory_free_mb,
            NumaNode.host_id,
            NumaNode.node,
        )
        .limit(CANDIDATE_NODES)
    )
    found = list(dict.fromkeys(session.scalars(best_fit)))
    if found or req.affinity != placement.PREFERRED:
        return found
    roomy = (
        select(NumaNode.host_id)
        .join(Host, Host.id == NumaNode.host_id)
        .where(*active)
        .group_by(NumaNode.host_id)
        .having(func.sum(NumaNode.gpus_free) >= req.gpus)
        .order_by(func.sum(NumaNode.gpus_free), NumaNode.host_id)
        .limit(CANDIDATE_NODES)
    )
    return list(session.scalars(roomy))


def _views(session, host_ids, plan):
    """Placement views of the given hosts (their free GPUs of the plan's model only), each
    node's generation, and the hosts by id (the chosen one is the reservation's)."""
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
    by_host = {}
    for n in nodes:
        blocked = reserved[n.host_id] | used.get(n.id, set())
        threads = tuple(t for t in parse_cpulist(n.cpus) if t not in blocked)
        gpus = tuple(gpus_of.get(n.id, ()))
        view = placement.NodeView(n.id, n.node, gpus, threads, n.memory_free_mb)
        by_host.setdefault(n.host_id, []).append(view)
    views = [placement.HostView(h.id, h.hostname, h.status, tuple(by_host.get(h.id, ())))
             for h in hosts]  # fmt: skip
    return views, {n.id: n.generation for n in nodes}, {h.id: h for h in hosts}


def serialise_region(session, region_id):
    """Wait for the region's other reservations to commit (step 1 of the module's protocol).

    A per-region lock rather than SKIP LOCKED on the chosen node: contenders then do not
    spread onto worse-fitting nodes, which could leave no whole node for a 4-GPU plan.

    The lock is tried, not waited for in one statement: a queue of creates may take longer
    than the statement timeout (and the read guard) that bound every single wait on the
    database, and a create that is only queued must not be answered 503. Each try is
    instant; between tries the wait grows to LOCK_POLL_MAX, up to LOCK_WAIT_SECONDS in all,
    after which the caller retries as after any Conflict.
    """
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE has serialised every writer already
    key = cast(_LOCK_SPACE | zlib.crc32(region_id.encode()), BigInteger)
    deadline, pause = time.monotonic() + LOCK_WAIT_SECONDS, 0.002
    while not session.scalar(select(func.pg_try_advisory_xact_lock(key))):
        if time.monotonic() > deadline:
            raise Conflict()
        time.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, LOCK_POLL_MAX)


def _choose(session, region_id, req, plan, prefer_host_id, avoid_host_id):
    """Placement among the region's candidates: `prefer_host_id` first when it has room,
    never `avoid_host_id`. Returns the choice, the generations of the nodes read and the
    hosts read, by id."""
    if prefer_host_id is not None:
        views, generations, hosts = _views(session, [prefer_host_id], plan)
        try:
            return placement.place(req, views), generations, hosts
        except placement.NoCapacity:
            pass
    candidates = _candidate_hosts(session, region_id, req, plan)
    views, generations, hosts = _views(session, candidates, plan)
    views = [v for v in views if v.id != avoid_host_id]
    return placement.place(req, views), generations, hosts


def reserve(
    session, instance, plan, affinity, prefer_host_id=None, avoid_host_id=None, region_id=None
):
    """Place `instance` (a GPU plan) in its region (or `region_id`: a migration to another
    data center) and reserve what it needs.

    With `prefer_host_id` (a resize: the host the instance is on) that host is tried
    first, and the region's other hosts only when it has no room; `avoid_host_id` (a
    migration: the host it leaves) is never chosen.
    Raises placement.NoCapacity when nothing fits, Conflict when another transaction won.
    """
    req = placement.Request(plan.gpus, plan.vcpus, plan.memory, affinity)
    region_id = region_id or instance.region_id
    serialise_region(session, region_id)
    chosen, generations, hosts = _choose(
        session, region_id, req, plan, prefer_host_id, avoid_host_id
    )
    for part in chosen.parts:
        if part.gpu_ids:
            claimed = session.execute(
                update(Gpu)
                .where(Gpu.id.in_(part.gpu_ids), Gpu.instance_id.is_(None))
                .values(instance_id=instance.id)
            )
            if claimed.rowcount != len(part.gpu_ids):
                raise Conflict()
        moved = session.execute(
            update(NumaNode)
            .where(
                NumaNode.id == part.node_id, NumaNode.generation == generations[part.node_id]
            )  # fmt: skip
            .values(
                gpus_free=NumaNode.gpus_free - len(part.gpu_ids),
                threads_free=NumaNode.threads_free - len(part.threads),
                memory_free_mb=NumaNode.memory_free_mb - part.memory_mb,
                generation=NumaNode.generation + 1,
            )
        )
        if moved.rowcount != 1:
            raise Conflict()
        session.add(Allocation(
            instance_id=instance.id, host_id=chosen.host_id, numa_node_id=part.node_id,
            gpu_count=len(part.gpu_ids), threads=list(part.threads), memory_mb=part.memory_mb,
        ))  # fmt: skip
    host = hosts[chosen.host_id]
    instance.host_id, instance.host_uuid = host.id, host.uuid
    return chosen, host


def describe(session, chosen, host):
    """The placement as the host agent needs it (docs/jobs.md): nodes, threads, GPUs."""
    node_ids = [p.node_id for p in chosen.parts]
    rows = session.execute(
        select(NumaNode.id, NumaNode.node, NumaNode.hugepages_1g,
               Gpu.id.label("gpu_id"), Gpu.pci_address, Gpu.iommu_functions)
        .outerjoin(Gpu, (Gpu.numa_node_id == NumaNode.id) & Gpu.id.in_(chosen.gpu_ids))
        .where(NumaNode.id.in_(node_ids))
    ).all()  # fmt: skip
    nodes = {r.id: r for r in rows}  # one query: each node, with its chosen GPUs
    gpu_rows = {r.gpu_id: r for r in rows if r.gpu_id is not None}
    parts = [
        {
            "node": nodes[p.node_id].node,
            "threads": list(p.threads),
            "memory_mb": p.memory_mb,
            "gpus": [
                {
                    "pci_address": gpu_rows[g].pci_address,
                    "iommu_functions": list(gpu_rows[g].iommu_functions),
                }
                for g in p.gpu_ids
            ],  # fmt: skip
        }
        for p in chosen.parts
    ]
    hugepages = all(nodes[p.node_id].hugepages_1g * 1024 >= p.memory_mb for p in chosen.parts)
    return {"host": host.hostname, "hugepages_1g": hugepages, "nodes": parts}


def release(session, instance_id, host_id=None):
    """Give back what an instance holds (on `host_id` only, when given: a migration holds
    its old host's share and its new one's until it ends). Safe to repeat: each allocation
    is released once."""
    held = (Allocation.instance_id == instance_id, Allocation.released_at.is_(None))
    if host_id is not None:
        held = (*held, Allocation.host_id == host_id)
    allocations = session.scalars(select(Allocation).where(*held)).all()
    for alloc in allocations:
        marked = session.execute(
            update(Allocation)
            .where(Allocation.id == alloc.id, Allocation.released_at.is_(None))
            .values(released_at=utcnow())
        )
        if marked.rowcount != 1:
            continue
        session.execute(
            update(NumaNode)
            .where(NumaNode.id == alloc.numa_node_id)
            .values(
                gpus_free=NumaNode.gpus_free + alloc.gpu_count,
                threads_free=NumaNode.threads_free + len(alloc.threads),
                memory_free_mb=NumaNode.memory_free_mb + alloc.memory_mb,
                generation=NumaNode.generation + 1,
            )
        )
    gpus = (Gpu.instance_id == instance_id,) + (
        () if host_id is None else (Gpu.host_id == host_id,)
    )
    session.execute(update(Gpu).where(*gpus).values(instance_id=None))
    return len(allocations)
