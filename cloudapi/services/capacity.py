"""Capacity accounting: GPUs total, allocated, free, and sellable per GPU plan.

"Sellable" is how many more instances of a plan could be placed now, one NUMA node each
(fragmentation counted): per node, the smallest of free GPUs, threads and memory divided by
the plan's needs, summed over the active hosts.
"""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cloudapi.db.instances import Instance
from cloudapi.db.inventory import Gpu, Host, NumaNode
from cloudapi.domain.placement import Request, fit_count


def gpu_plans(snapshot):
    return sorted((t for t in snapshot.types.values() if t.gpus), key=lambda t: (t.gpus, t.id))


def _request(plan):
    return Request(plan.gpus, plan.vcpus, plan.memory)


def device_ids(plan):
    """The PCI device ids of the GPU model `plan` needs; None when any GPU will do."""
    return getattr(plan, "gpu_device_ids", None)


def takes(plan, device_ids_here):
    """Whether a host with GPUs of `device_ids_here` can take `plan` (its GPU model)."""
    wanted = device_ids(plan)
    here = set(device_ids_here)
    return bool(set(wanted) & here) if wanted is not None else bool(here)


def _node_sellable(node, plans, usable):
    """Per plan the host's GPU model can take (`usable` when active, else 0 each)."""
    return {p.id: fit_count(_request(p), node.gpus_free, node.threads_free, node.memory_free_mb)
            if usable else 0 for p in plans}  # fmt: skip


def _sum(rows, plans):
    """Summed over rows, for the plans any of them can take (the others are not sold here)."""
    ids = {p for r in rows for p in r["sellable"]}
    return {p.id: sum(r["sellable"].get(p.id, 0) for r in rows) for p in plans if p.id in ids}


def report(session, snapshot, region=None):
    """Per region and host: totals, allocated, free, sellable per plan; GPUs and holders."""
    plans = gpu_plans(snapshot)
    query = select(Host).options(selectinload(Host.nodes), selectinload(Host.gpus))
    if region:
        query = query.where(Host.region_id == region)
    hosts = session.scalars(query.order_by(Host.region_id, Host.hostname)).all()
    owners = dict(session.execute(
        select(Instance.id, Instance.account_id).where(Instance.host_id.is_not(None))
    ).all())  # fmt: skip
    regions = {}
    for host in hosts:
        devices = {g.device_id for g in host.gpus}
        models = [p for p in plans if takes(p, devices)]  # the plans this host's GPUs serve
        active = host.status == "active"
        nodes = []
        for node in host.nodes:
            gpus = [g for g in host.gpus if g.numa_node_id == node.id]
            nodes.append({
                "node": node.node, "cpus": node.cpus,
                "threads_total": node.threads_total, "threads_free": node.threads_free,
                "memory_mb": node.memory_mb, "memory_free_mb": node.memory_free_mb,
                "gpus_total": node.gpus_total, "gpus_free": node.gpus_free,
                "sellable": _node_sellable(node, models, active),
                "gpus": [{"pci_address": g.pci_address, "model": g.model,
                          "iommu_group": g.iommu_group, "instance_id": g.instance_id,
                          "account_id": owners.get(g.instance_id)} for g in gpus],
            })  # fmt: skip
        total = sum(n["gpus_total"] for n in nodes)
        free = sum(n["gpus_free"] for n in nodes)
        regions.setdefault(host.region_id, []).append({
            "hostname": host.hostname, "uuid": host.uuid, "status": host.status,
            "gpus_total": total, "gpus_allocated": total - free, "gpus_free": free,
            "sellable": _sum(nodes, models), "numa_nodes": nodes,
        })  # fmt: skip
    out = []
    for region_id, rows in sorted(regions.items()):
        total = sum(h["gpus_total"] for h in rows)
        free = sum(h["gpus_free"] for h in rows)
        out.append({
            "region": region_id, "gpus_total": total, "gpus_allocated": total - free,
            "gpus_free": free, "sellable": _sum(rows, plans), "hosts": rows,
        })  # fmt: skip
    return {"plans": [p.id for p in plans], "regions": out}


def available_plans(session, snapshot):
    """{(region, plan id)} for each GPU plan that one more instance of could be placed in."""
    found = set()
    for plan in gpu_plans(snapshot):
        query = (
            select(Host.region_id)
            .join(NumaNode, NumaNode.host_id == Host.id)
            .where(
                Host.status == "active",
                NumaNode.gpus_free >= plan.gpus,
                NumaNode.threads_free >= plan.vcpus,
                NumaNode.memory_free_mb >= plan.memory,
                *model_filter(plan),
            )
            .distinct()
        )
        found.update((region_id, plan.id) for region_id in session.scalars(query))
    return found


def model_filter(plan):
    """SQL conditions on Host: it has GPUs of the model `plan` needs (none when any GPU)."""
    wanted = device_ids(plan)
    if wanted is None:
        return ()
    gpu = select(Gpu.id).where(Gpu.host_id == Host.id, Gpu.device_id.in_(wanted))
    return (gpu.exists(),)


def table(report):
    """The capacity report as a text table, one line per host and a total per region.

    Only the plans some host serves get a column ("-": not this host's GPU model).
    """
    served = {p for r in report["regions"] for p in r["sellable"]}
    plans = [p for p in report["plans"] if p in served] or report["plans"]
    short = [p.split("-gpu-", 1)[-1] for p in plans]
    widths = [max(6, len(s)) for s in short]

    def cells(sellable):
        return " ".join(f"{sellable.get(p, '-'):>{w}}" for p, w in zip(plans, widths, strict=True))

    head = f"{'region':<12} {'host':<22} {'status':<12} {'total':>5} {'alloc':>5} {'free':>5}  "
    titles = " ".join(f"{s:>{w}}" for s, w in zip(short, widths, strict=True))
    lines = [head + "sellable: " + titles]
    for region in report["regions"]:
        for h in region["hosts"]:
            lines.append(
                f"{region['region']:<12} {h['hostname']:<22} {h['status']:<12} "
                f"{h['gpus_total']:>5} {h['gpus_allocated']:>5} {h['gpus_free']:>5}  "
                f"{'':>9} " + cells(h["sellable"])
            )
        lines.append(
            f"{region['region']:<12} {'(region total)':<22} {'':<12} "
            f"{region['gpus_total']:>5} {region['gpus_allocated']:>5} {region['gpus_free']:>5}  "
            f"{'':>9} " + cells(region["sellable"])
        )
    if not report["regions"]:
        lines.append("(no GPU hosts)")
    return "\n".join(lines)
