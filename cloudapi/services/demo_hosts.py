"""Host descriptions shaped like real GPU servers, for the demo and the tests.

A 2019 RTX 6000 server (per NUMA node 20 cores, 192 GiB) and a 2023 RTX 4000 Ada server
(per node 32 cores, 384 GiB: its x4 Medium plan takes 48 vCPUs and 196 GB on one node).
"""

from typing import NamedTuple

from cloudapi.domain.cpus import format_cpulist


class GpuModel(NamedTuple):
    device_id: str  # PCI device id, vendor 10de
    model: str  # as pci.ids names it
    cores_per_node: int
    memory_per_node_mb: int


RTX6000 = GpuModel("1e30", "Quadro RTX 6000/8000", 20, 192 * 1024)
RTX4000_ADA = GpuModel("27b2", "RTX 4000 Ada Generation", 32, 384 * 1024)
CORES_PER_NODE = RTX6000.cores_per_node
MEMORY_PER_NODE_MB = RTX6000.memory_per_node_mb


def describe(hostname, region, nodes=2, gpus_per_node=4, gpu=RTX6000):
    """Dual-socket-style host: per node the model's cores (2 threads each) and memory, and
    N GPUs of that model. The first core of each node (both its threads) is reserved for
    the host.
    """
    cores_per_node = gpu.cores_per_node
    total_cores = cores_per_node * nodes
    numa, gpus, reserved = [], [], []
    for n in range(nodes):
        first = n * cores_per_node
        cores = range(first, first + cores_per_node)
        threads = list(cores) + [c + total_cores for c in cores]
        reserved += [first, first + total_cores]
        numa.append(
            {"node": n, "cpus": format_cpulist(threads), "memory_mb": gpu.memory_per_node_mb,
             "hugepages_1g": gpu.memory_per_node_mb * 5 // 6 // 1024, "hugepages_2m": 0}
        )  # fmt: skip
        for g in range(gpus_per_node):
            bus = 0x3B + n * 0x50 + g
            address = f"0000:{bus:02x}:00.0"
            gpus.append({
                "pci_address": address, "vendor_id": "10de", "device_id": gpu.device_id,
                "model": gpu.model, "numa_node": n, "iommu_group": 20 + bus,
                "iommu_functions": [address, f"0000:{bus:02x}:00.1"],
            })  # fmt: skip
    return {"hostname": hostname, "region": region, "reserved_cpus": format_cpulist(reserved),
            "numa_nodes": numa, "gpus": gpus}  # fmt: skip


# describe()'s arguments for each demo host: RTX 6000 in Newark and Frankfurt, RTX 4000
# Ada in Chicago and Seattle (two of the regions Linode opened them in).
DEMO_HOSTS = (
    ("gpu-1.us-east", "us-east", 2, 4),
    ("gpu-2.us-east", "us-east", 2, 4),
    ("gpu-1.eu-central", "eu-central", 2, 4),
    ("gpu-1.us-ord", "us-ord", 2, 4, RTX4000_ADA),
    ("gpu-1.us-sea", "us-sea", 2, 4, RTX4000_ADA),
)
