"""Host descriptions shaped like a 2019 8-GPU server, for the demo and the tests."""

from cloudapi.domain.cpus import format_cpulist

CORES_PER_NODE = 20
MEMORY_PER_NODE_MB = 192 * 1024


def describe(hostname, region, nodes=2, gpus_per_node=4):
    """Dual-socket-style host: per node 20 cores (40 threads), 192 GiB, N RTX 6000 GPUs.

    The first core of each node (both its threads) is reserved for the host.
    """
    total_cores = CORES_PER_NODE * nodes
    numa, gpus, reserved = [], [], []
    for n in range(nodes):
        first = n * CORES_PER_NODE
        cores = range(first, first + CORES_PER_NODE)
        threads = list(cores) + [c + total_cores for c in cores]
        reserved += [first, first + total_cores]
        numa.append(
            {"node": n, "cpus": format_cpulist(threads), "memory_mb": MEMORY_PER_NODE_MB,
             "hugepages_1g": 160, "hugepages_2m": 0}
        )  # fmt: skip
        for g in range(gpus_per_node):
            bus = 0x3B + n * 0x50 + g
            address = f"0000:{bus:02x}:00.0"
            gpus.append({
                "pci_address": address, "vendor_id": "10de", "device_id": "1e30",
                "model": "Quadro RTX 6000/8000", "numa_node": n, "iommu_group": 20 + bus,
                "iommu_functions": [address, f"0000:{bus:02x}:00.1"],
            })  # fmt: skip
    return {"hostname": hostname, "region": region, "reserved_cpus": format_cpulist(reserved),
            "numa_nodes": numa, "gpus": gpus}  # fmt: skip


DEMO_HOSTS = (
    ("gpu-1.us-east", "us-east", 2, 4),
    ("gpu-2.us-east", "us-east", 2, 4),
    ("gpu-1.eu-central", "eu-central", 2, 4),
)
