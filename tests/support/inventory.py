"""The inventory's invariants, checked against the rows themselves."""

from collections import Counter

from sqlalchemy import select

from cloudapi.db.instances import Instance
from cloudapi.db.inventory import Allocation, Gpu, Host, NumaNode
from cloudapi.domain.cpus import parse_cpulist


def check_invariants(db):
    """free + allocated = total on every node and host; nothing held twice or by the dead."""
    with db.reader() as session:
        hosts = {h.id: h for h in session.scalars(select(Host))}
        nodes = session.scalars(select(NumaNode)).all()
        gpus = session.scalars(select(Gpu)).all()
        live = session.scalars(select(Allocation).where(Allocation.released_at.is_(None))).all()
        alive = set(session.scalars(select(Instance.id).where(Instance.deleted_at.is_(None))))
    for node in nodes:
        here = [g for g in gpus if g.numa_node_id == node.id]
        held = [a for a in live if a.numa_node_id == node.id]
        assert len(here) == node.gpus_total, node.id
        assert sum(g.instance_id is None for g in here) == node.gpus_free, node.id
        assert sum(a.gpu_count for a in held) == node.gpus_total - node.gpus_free, node.id
        threads = [t for a in held for t in a.threads]
        assert len(threads) == len(set(threads)), f"a CPU thread is held twice on node {node.id}"
        reserved = set(parse_cpulist(hosts[node.host_id].reserved_cpus))
        assert set(threads) <= set(parse_cpulist(node.cpus)) - reserved
        assert len(threads) == node.threads_total - node.threads_free, node.id
        assert sum(a.memory_mb for a in held) == node.memory_mb - node.memory_free_mb, node.id
        assert 0 <= node.gpus_free <= node.gpus_total
    for gpu in gpus:
        assert gpu.instance_id is None or gpu.instance_id in alive, gpu.pci_address
    by_instance = Counter(g.instance_id for g in gpus if g.instance_id is not None)
    for instance_id, count in by_instance.items():
        assert count == sum(a.gpu_count for a in live if a.instance_id == instance_id)
    assert {a.instance_id for a in live} <= alive
    return {"gpus_total": len(gpus), "gpus_free": sum(g.instance_id is None for g in gpus)}
