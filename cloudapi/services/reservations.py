"""Reserving GPUs, CPU threads and memory for an instance, and releasing them once.

Runs inside the caller's transaction. The protocol for one reservation:

1. On PostgreSQL, a create first locks the best-fitting nodes that no other reservation
   in flight holds (`SELECT ... FOR UPDATE SKIP LOCKED`, held to commit or rollback) and
   places among those only. Creates that fit on different nodes run side by side; none
   waits for another's commit.
2. Otherwise (nothing fits on one node, the fitting nodes stay held for
   HELD_WAIT_SECONDS, a resize or a migration, or SQLite) it serialises the region. On
   PostgreSQL the transaction takes a transaction-scoped advisory lock keyed by the
   region; on SQLite every write
   transaction already holds the database's one write lock (BEGIN IMMEDIATE). So these
   reservations run one per region at a time and each reads the free counters as the
   previous one committed them (READ COMMITTED takes a fresh snapshot per statement):
   contenders queue instead of all choosing the same node and failing on it, so a burst
   is refused only when the region really is full.
3. Candidate nodes come from one indexed query over the per-node free counters (never
   every host: services/placement_reads.py); placement (pure) chooses among them.
4. The reservation is two conditional UPDATEs per node: the GPUs only if still
   unassigned, the node's counters only if its generation is unchanged. These, not the
   locks, are what guarantee that nothing is sold twice: a writer that takes neither
   lock (`release`, host changes) or a reserver of step 2 that chose a node held in
   step 1 moves or meets a moved generation, and the loser raises `Conflict`; the
   caller retries the whole transaction.
"""

import random
import time
import zlib

from sqlalchemy import BigInteger, bindparam, cast, func, select, update

from cloudapi.db.base import utcnow
from cloudapi.db.inventory import Allocation, Gpu, NumaNode
from cloudapi.domain import placement
from cloudapi.services import placement_reads

# The high half of the advisory lock key: "GPUR", so that other advisory locks keep clear.
_LOCK_SPACE = 0x47505552 << 32
LOCK_WAIT_SECONDS, LOCK_POLL_MAX = 30.0, 0.05
# Nodes a create locks (step 1): enough for the tie-break towards the fuller host, few
# enough that concurrent creates skip little (the bench: 98 creates/s at 16, 113 at 4).
UNHELD_CANDIDATES = 4
# How long a create polls for a held node to come free before it serialises on the region.
HELD_WAIT_SECONDS, HELD_POLL_MAX = 2.0, 0.02


class Conflict(Exception):
    """A competing transaction reserved the same capacity first."""


def serialise_region(session, region_id):
    """Wait for the region's other serialised reservations to commit (step 2 of the
    module's protocol): the path for a region whose fitting nodes stay held, for plans
    split over nodes, and for resizes and migrations.

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


def _choose_unheld(session, region_id, req, plan):
    """PostgreSQL's common case: placement among the best-fitting nodes that no other
    reservation in flight holds, those nodes locked to the commit (FOR UPDATE SKIP LOCKED).

    Creates on different nodes then run side by side instead of queueing on the region,
    and a node one transaction holds is skipped by the next. When every node that may be
    taken is held (a whole node may not while a part-used one that fits is held: breaking
    it because the part-used one was busy would leave a burst of 1-GPU creates spread one
    per node and no node for a 4-GPU plan), it tries again after a pause, holding nothing
    meanwhile. None when no single node fits at all, or the nodes stay held for
    HELD_WAIT_SECONDS: the region's path decides (a split over nodes, the refusal, or the
    wait). Nothing is locked then: the region's path waits for nodes' holders while
    holding the region's lock, which another holder must not wait for.
    """
    if session.get_bind().dialect.name != "postgresql":
        return None
    bound = placement_reads.params(region_id, req, plan)
    model = bool(bound["devices"])
    unheld = placement_reads.unheld_best_fit(model, UNHELD_CANDIDATES)
    deadline, pause = time.monotonic() + HELD_WAIT_SECONDS, 0.001
    while not (rows := session.execute(unheld, bound).all()):
        held = session.execute(placement_reads.unheld_best_fit(model, 1, lock=False), bound)
        if held.first() is None or time.monotonic() > deadline:
            return None  # no single node fits (or they stay held): the region's path
        time.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, HELD_POLL_MAX)
    host_ids = list(dict.fromkeys(r.host_id for r in rows))
    views, generations, hosts = placement_reads.views(
        session, host_ids, plan, offered={r.id for r in rows}
    )
    try:
        return placement.place(req, views), generations, hosts
    except placement.NoCapacity:
        # Only if the node's rows changed under its lock (not expected): start again,
        # not the region's path while holding these nodes (its holder may wait for them).
        raise Conflict() from None


def _wait_for_holders(session, host_ids):
    """PostgreSQL: lock the nodes of `host_ids`, waiting for the creates in flight that
    hold some (step 1) to commit; True when it did. Then what they took is read, and this
    reservation's conditional updates cannot lose to them."""
    if session.get_bind().dialect.name != "postgresql" or not host_ids:
        return False
    nodes = select(NumaNode.id).where(NumaNode.host_id.in_(host_ids)).order_by(NumaNode.id)
    session.execute(nodes.with_for_update())
    return True


def _choose(session, region_id, req, plan, prefer_host_id, avoid_host_id):
    """Placement among the region's candidates: `prefer_host_id` first when it has room,
    never `avoid_host_id`. Returns the choice, the generations of the nodes read and the
    hosts read, by id."""
    if prefer_host_id is not None:
        views, generations, hosts = placement_reads.views(session, [prefer_host_id], plan)
        try:
            return placement.place(req, views), generations, hosts
        except placement.NoCapacity:
            pass
    candidates = placement_reads.candidate_hosts(session, region_id, req, plan)
    if _wait_for_holders(session, candidates):
        candidates = placement_reads.candidate_hosts(session, region_id, req, plan)
    views, generations, hosts = placement_reads.views(session, candidates, plan)
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
    choice = None
    if prefer_host_id is None and avoid_host_id is None:
        choice = _choose_unheld(session, region_id, req, plan)
    if choice is None:
        serialise_region(session, region_id)
        choice = _choose(session, region_id, req, plan, prefer_host_id, avoid_host_id)
    chosen, generations, hosts = choice
    for part in chosen.parts:
        if part.gpu_ids:
            claim = {"gpus": list(part.gpu_ids), "instance": instance.id}
            if session.execute(_CLAIM_GPUS, claim).rowcount != len(part.gpu_ids):
                raise Conflict()
        taken = {"node_id": part.node_id, "seen_generation": generations[part.node_id],
                 "gpus_taken": len(part.gpu_ids), "threads_taken": len(part.threads),
                 "memory_taken": part.memory_mb}  # fmt: skip
        moved = session.execute(_TAKE_FROM_NODE, taken)
        if moved.rowcount != 1:
            raise Conflict()
        session.add(Allocation(
            instance_id=instance.id, host_id=chosen.host_id, numa_node_id=part.node_id,
            gpu_count=len(part.gpu_ids), threads=list(part.threads), memory_mb=part.memory_mb,
        ))  # fmt: skip
    host = hosts[chosen.host_id]
    instance.host_id, instance.host_uuid = host.id, host.uuid
    return chosen, host


# describe()'s query, built once (building it cost more than running it).
_DESCRIBED = (
    select(NumaNode.id, NumaNode.node, NumaNode.hugepages_1g,
           Gpu.id.label("gpu_id"), Gpu.pci_address, Gpu.iommu_functions)
    .outerjoin(Gpu, (Gpu.numa_node_id == NumaNode.id)
               & Gpu.id.in_(bindparam("gpus", expanding=True)))
    .where(NumaNode.id.in_(bindparam("nodes", expanding=True)))
)  # fmt: skip
# A reservation's two conditional updates (module docstring, step 4), as Core statements:
# the session holds no Gpu, and its NumaNodes from views() are not read again.
_CLAIM_GPUS = (
    update(Gpu.__table__)
    .where(Gpu.id.in_(bindparam("gpus", expanding=True)), Gpu.instance_id.is_(None))
    .values(instance_id=bindparam("instance"))
)
_nodes = NumaNode.__table__.c
_TAKE_FROM_NODE = (
    update(NumaNode.__table__)
    .where(_nodes.id == bindparam("node_id"), _nodes.generation == bindparam("seen_generation"))
    .values(
        gpus_free=_nodes.gpus_free - bindparam("gpus_taken"),
        threads_free=_nodes.threads_free - bindparam("threads_taken"),
        memory_free_mb=_nodes.memory_free_mb - bindparam("memory_taken"),
        generation=_nodes.generation + 1,
    )
)


def describe(session, chosen, host):
    """The placement as the host agent needs it (docs/jobs.md): nodes, threads, GPUs."""
    node_ids = [p.node_id for p in chosen.parts]
    rows = session.execute(_DESCRIBED, {"nodes": node_ids, "gpus": list(chosen.gpu_ids)}).all()
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
