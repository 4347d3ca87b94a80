"""The fleet of the GPU placement bench: thousands of hosts bulk-inserted, part of them in use.

Registering 10,000 hosts through services.hosts.register() would take minutes, so the rows
register() would write for `demo_hosts.describe()` are inserted in batches with SQLAlchemy
Core, together with running instances that already hold GPUs, so that placement searches
a fleet with partly used nodes. INVARIANTS checks the counters the inserts set by hand.
"""

import hashlib

from sqlalchemy import insert, text

from cloudapi.db.base import utcnow
from cloudapi.db.instances import Instance
from cloudapi.db.inventory import Allocation, Gpu, Host, NumaNode
from cloudapi.domain import lifecycle
from cloudapi.domain.cpus import parse_cpulist
from cloudapi.services import demo_hosts

REGION = "us-east"
BATCH = 2000


class Shape:
    """One host as register() would store it, computed once from demo_hosts.describe()."""

    def __init__(self):
        desc = demo_hosts.describe("template", REGION)
        self.reserved_cpus = desc["reserved_cpus"]
        reserved = set(parse_cpulist(self.reserved_cpus))
        self.nodes = []
        for n in desc["numa_nodes"]:
            threads = [t for t in parse_cpulist(n["cpus"]) if t not in reserved]
            gpus = [g for g in desc["gpus"] if (g["numa_node"] or 0) == n["node"]]
            gpus.sort(key=lambda g: g["pci_address"])  # the order placement takes them in
            self.nodes.append((n, threads, gpus))


def taken_on_node0(i):
    """GPUs already held on node 0 of host i (1-based): 1..3 on every third host, else 0."""
    return (i // 3) % 3 + 1 if i % 3 == 0 else 0


def in_maintenance(i):
    """Whether host i (1-based) is in maintenance: 5% of hosts, which placement must skip."""
    return i % 20 == 7


def held_on(i, n):
    """GPUs already held on node `n` (a describe() node) of host i."""
    return taken_on_node0(i) if n["node"] == 0 else 0


def _batched(session, table, rows, returning=False):
    """Insert rows in batches; with returning, their ids in the order given."""
    ids = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        if returning:
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids.extend(session.scalars(stmt, chunk))
        else:
            session.execute(insert(table), chunk)
    return ids


def _host_rows(shape, count, now):
    names = [f"gpu-{i:05d}.{REGION}" for i in range(1, count + 1)]
    return [
        {"hostname": name, "uuid": hashlib.sha1(name.encode()).hexdigest(),
         "region_id": REGION, "status": "maintenance" if in_maintenance(i) else "active",
         "reserved_cpus": shape.reserved_cpus, "created": now}
        for i, name in enumerate(names, start=1)
    ]  # fmt: skip


def _node_rows(shape, host_ids, plan):
    """Each host's nodes, node 0's counters and generation lowered by what it holds."""
    rows = []
    for i, host_id in enumerate(host_ids, start=1):
        for n, threads, gpus in shape.nodes:
            held = held_on(i, n)
            rows.append({
                "host_id": host_id, "node": n["node"], "cpus": n["cpus"],
                "memory_mb": n["memory_mb"], "hugepages_1g": n["hugepages_1g"],
                "hugepages_2m": n["hugepages_2m"], "gpus_total": len(gpus),
                "gpus_free": len(gpus) - held, "threads_total": len(threads),
                "threads_free": len(threads) - held * plan.vcpus,
                "memory_free_mb": n["memory_mb"] - held * plan.memory, "generation": held,
            })  # fmt: skip
    return rows


def _instance_rows(host_rows, host_ids, account_id, plan, now):
    """The running instances holding GPUs, and (host index, slot) of each."""
    rows, holders = [], []
    for i, host_row in enumerate(host_rows, start=1):
        for slot in range(taken_on_node0(i)):
            rows.append({
                "account_id": account_id, "label": f"seed-{i:05d}-{slot}",
                "group_name": "", "type_id": plan.id, "region_id": REGION, "image_id": None,
                "status": "running", "created": now, "updated": now, "deleted_at": None,
                "host_uuid": host_row["uuid"], "has_user_data": False,
                "watchdog_enabled": True, "backups_enabled": False, "private_ip": False,
                "swap_size": 512, "disk_encryption": "disabled",
                "maintenance_policy": "linode/migrate",
                "alerts": lifecycle.default_alerts(plan.vcpus), "numa_affinity": "strict",
                "host_id": host_ids[i - 1],
            })  # fmt: skip
            holders.append((i, slot))
    return rows, holders


def _gpu_row(host_id, node_id, g, holder):
    return {
        "host_id": host_id, "numa_node_id": node_id,
        "pci_address": g["pci_address"], "vendor_id": g["vendor_id"],
        "device_id": g["device_id"], "model": g["model"], "iommu_group": g["iommu_group"],
        "iommu_functions": g["iommu_functions"] or [g["pci_address"]], "instance_id": holder,
    }  # fmt: skip


def _gpu_and_allocation_rows(shape, host_ids, node_ids, holder_of, plan, now):
    """Every GPU (the first `held` of node 0 taken) and the Allocation of each held one."""
    gpu_rows, alloc_rows = [], []
    per_host = len(shape.nodes)
    for i, host_id in enumerate(host_ids, start=1):
        for k, (n, threads, gpus) in enumerate(shape.nodes):
            node_id = node_ids[(i - 1) * per_host + k]
            held = held_on(i, n)
            for slot, g in enumerate(gpus):
                holder = holder_of[(i, slot)] if slot < held else None
                gpu_rows.append(_gpu_row(host_id, node_id, g, holder))
            for slot in range(held):
                alloc_rows.append({
                    "instance_id": holder_of[(i, slot)], "host_id": host_id,
                    "numa_node_id": node_id, "gpu_count": 1,
                    "threads": threads[slot * plan.vcpus : (slot + 1) * plan.vcpus],
                    "memory_mb": plan.memory, "created": now, "released_at": None,
                })  # fmt: skip
    return gpu_rows, alloc_rows


def fill(database, account_id, count, plan):
    """Bulk-insert `count` hosts, mirroring services.hosts.register(), plus held capacity.

    Each held GPU belongs to one running g1-gpu-rtx6000-1 instance with its Allocation
    (the next `plan.vcpus` free threads of node 0 and `plan.memory` MB), and node 0's
    counters and generation reflect it, as if reservations.reserve() had made them.
    """
    shape, now = Shape(), utcnow()
    with database.transaction() as session:
        host_rows = _host_rows(shape, count, now)
        host_ids = _batched(session, Host.__table__, host_rows, returning=True)
        node_rows = _node_rows(shape, host_ids, plan)
        node_ids = _batched(session, NumaNode.__table__, node_rows, returning=True)
        instance_rows, holders = _instance_rows(host_rows, host_ids, account_id, plan, now)
        instance_ids = _batched(session, Instance.__table__, instance_rows, returning=True)
        holder_of = dict(zip(holders, instance_ids, strict=True))
        gpu_rows, alloc_rows = _gpu_and_allocation_rows(
            shape, host_ids, node_ids, holder_of, plan, now
        )
        _batched(session, Gpu.__table__, gpu_rows)
        _batched(session, Allocation.__table__, alloc_rows)
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))  # planner statistics, as autovacuum would leave them
    return {"hosts": len(host_ids), "nodes": len(node_ids), "gpus": len(gpu_rows),
            "instances": len(instance_ids), "allocations": len(alloc_rows)}  # fmt: skip


INVARIANTS = """
SELECT count(*) FROM numa_nodes n
LEFT JOIN (SELECT numa_node_id, count(*) AS total, count(*) FILTER (WHERE instance_id IS NULL)
           AS free FROM gpus GROUP BY numa_node_id) g ON g.numa_node_id = n.id
LEFT JOIN (SELECT numa_node_id, sum(gpu_count) AS gpus, sum(json_array_length(threads))
           AS threads, sum(memory_mb) AS memory FROM allocations WHERE released_at IS NULL
           GROUP BY numa_node_id) a ON a.numa_node_id = n.id
WHERE coalesce(g.total, 0) <> n.gpus_total OR coalesce(g.free, 0) <> n.gpus_free
   OR coalesce(a.gpus, 0) <> n.gpus_total - n.gpus_free
   OR coalesce(a.threads, 0) <> n.threads_total - n.threads_free
   OR coalesce(a.memory, 0) <> n.memory_mb - n.memory_free_mb
"""


def check_counters(database):
    """Nodes whose free counters disagree with their GPUs and live allocations (want 0)."""
    with database.reader() as session:
        return session.scalar(text(INVARIANTS))
