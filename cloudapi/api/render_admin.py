"""The admin API's shapes (our own, not Linode's: openapi.yaml's admin section)."""


def account(a):
    """An account as operators see it (services.accounts.AccountView)."""
    return {"id": a.id, "email": a.email, "username": a.username, "tags": list(a.tags)}


def host(h):
    """A GPU host with its NUMA nodes (capacity left on each) and its GPUs."""
    node_of = {n.id: n.node for n in h.nodes}
    return {
        "id": h.id, "hostname": h.hostname, "uuid": h.uuid, "region": h.region_id,
        "status": h.status, "reserved_cpus": h.reserved_cpus,
        "numa_nodes": [{
            "node": n.node, "cpus": n.cpus, "memory_mb": n.memory_mb,
            "hugepages_1g": n.hugepages_1g, "hugepages_2m": n.hugepages_2m,
            "gpus_total": n.gpus_total, "gpus_free": n.gpus_free,
            "threads_total": n.threads_total, "threads_free": n.threads_free,
            "memory_free_mb": n.memory_free_mb,
        } for n in h.nodes],
        "gpus": [{
            "pci_address": g.pci_address, "vendor_id": g.vendor_id, "device_id": g.device_id,
            "model": g.model, "numa_node": node_of[g.numa_node_id],
            "iommu_group": g.iommu_group, "iommu_functions": list(g.iommu_functions),
            "instance_id": g.instance_id,
        } for g in h.gpus],
    }  # fmt: skip


def followed_instance(followed):
    """An instance as the console follows it (services.console.Followed)."""
    i = followed.instance
    return {
        "id": i.id, "account_id": i.account_id, "label": i.label, "type": i.type_id,
        "region": i.region_id, "status": i.status, "deleted": i.deleted_at is not None,
        "host": followed.hostname,
        "events": [{"id": e.id, "action": e.action, "status": e.status,
                    "percent_complete": e.percent_complete, "message": e.message}
                   for e in followed.events],
    }  # fmt: skip


def beta_state(beta):
    """A beta after an operator opened or closed it."""
    return {"id": beta.id, "is_open": beta.is_open}
