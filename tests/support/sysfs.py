"""Fake Linux sysfs trees for the inventory discovery tests.

Laid out the way Linux does it, with real relative symlinks:

    sys/devices/system/node/online                       "0-1"
    sys/devices/system/node/node<N>/cpulist, meminfo, hugepages/hugepages-<size>kB/nr_hugepages
    sys/devices/system/cpu/online                        every node's CPUs
    proc/meminfo                                         every node's memory
    sys/devices/pci<DDDD:BB>/<addr>/{vendor,device,class,numa_node}
    sys/devices/pci<DDDD:BB>/<addr>/iommu_group       -> ../../../kernel/iommu_groups/<n>
    sys/bus/pci/devices/<addr>                        -> ../../../devices/pci<DDDD:BB>/<addr>
    sys/kernel/iommu_groups/<n>/devices/<addr>        -> ../../../../devices/pci<DDDD:BB>/<addr>

    FakeSysfs(tmp_path).node(0, cpus="0-19,40-59", mem_kb=..., huge_1g=64).gpu(
        "0000:3b:00.0", device="0x1e30", numa=0, group=24,
        functions=["0000:3b:00.0", "0000:3b:00.1"]).build()
"""

import os
from pathlib import Path

from cloudapi.domain.cpus import format_cpulist, parse_cpulist

NVIDIA = "0x10de"
INTEL = "0x8086"
AUDIO_CLASS = "0x040300"  # multimedia / HD audio
TU102_AUDIO = "0x10f7"  # the HD audio function beside a TU102 (Quadro RTX 6000) GPU


class FakeSysfs:
    def __init__(self, root, *, node_online=True):
        """`node_online=False` leaves out sys/devices/system/node/online (node dirs still made)."""
        self.root = Path(root)
        self.node_online = node_online
        self.nodes = {}  # n -> dict(cpus, mem_kb, huge_1g, huge_2m)
        self.host_info = None  # dict(cpus, mem_kb, huge_1g, huge_2m) for a tree without nodes
        self.devices = {}  # address -> dict(vendor, device, cls, numa, group)
        self.companions = {}  # address -> (vendor, device, cls, numa, group), made if not declared

    # --- what the host has -------------------------------------------------------------------

    def node(self, n, cpus, mem_kb, huge_1g=None, huge_2m=None):
        """A NUMA node; a hugepage count of None leaves that hugepage directory out."""
        self.nodes[n] = {"cpus": cpus, "mem_kb": mem_kb, "huge_1g": huge_1g, "huge_2m": huge_2m}
        return self

    def host(self, cpus, mem_kb, huge_1g=None, huge_2m=None):
        """A host without NUMA nodes: only cpu/online, proc/meminfo and global hugepages."""
        self.host_info = {"cpus": cpus, "mem_kb": mem_kb, "huge_1g": huge_1g, "huge_2m": huge_2m}
        return self

    def pci(self, address, vendor, device, cls, numa=-1, group=None):
        """Any PCI function; numa=None leaves the numa_node file out, group=None the link."""
        self.devices[address] = {
            "vendor": vendor,
            "device": device,
            "cls": cls,
            "numa": numa,
            "group": group,
        }
        return self

    def gpu(
        self,
        address,
        device="0x1e30",
        cls="0x030000",
        numa=0,
        group=None,
        functions=None,
        vendor=NVIDIA,
    ):
        """A GPU. `functions` lists its IOMMU group (or, without a group, its sibling functions);
        any not declared with pci() are made as NVIDIA HD audio functions on the same node."""
        self.pci(address, vendor, device, cls, numa=numa, group=group)
        for other in functions or ():
            if other != address:
                self.companions[other] = {
                    "vendor": NVIDIA,
                    "device": TU102_AUDIO,
                    "cls": AUDIO_CLASS,
                    "numa": numa,
                    "group": group,
                }
        return self

    # --- writing it out ----------------------------------------------------------------------

    def build(self):
        """Write the tree; returns its root (what discover() takes)."""
        sys = self.root / "sys"
        sys.mkdir(parents=True, exist_ok=True)
        self._write_memory(sys)
        for address, dev in {**self.companions, **self.devices}.items():
            self._write_device(sys, address, dev)
        return self.root

    def _write_memory(self, sys):
        system = sys / "devices" / "system"
        if self.nodes:
            nodes = system / "node"
            if self.node_online:
                _write(nodes / "online", format_cpulist(self.nodes.keys()))
            for n, node in self.nodes.items():
                base = nodes / f"node{n}"
                _write(base / "cpulist", node["cpus"])
                _write(base / "meminfo", _node_meminfo(n, node["mem_kb"]))
                _write_hugepages(base / "hugepages", node)
            cpus = [c for node in self.nodes.values() for c in parse_cpulist(node["cpus"])]
            _write(system / "cpu" / "online", format_cpulist(cpus))
            _write_meminfo(self.root, sum(node["mem_kb"] for node in self.nodes.values()))
        if self.host_info:
            _write(system / "cpu" / "online", self.host_info["cpus"])
            _write_meminfo(self.root, self.host_info["mem_kb"])
            _write_hugepages(sys / "kernel" / "mm" / "hugepages", self.host_info)

    def _write_device(self, sys, address, dev):
        bus = address.rpartition(":")[0]  # DDDD:BB:SS.F -> DDDD:BB
        real = sys / "devices" / f"pci{bus}" / address
        _write(real / "vendor", dev["vendor"])
        _write(real / "device", dev["device"])
        _write(real / "class", dev["cls"])
        if dev["numa"] is not None:
            _write(real / "numa_node", str(dev["numa"]))
        _link(sys / "bus" / "pci" / "devices" / address, real)
        if dev["group"] is not None:
            group = sys / "kernel" / "iommu_groups" / str(dev["group"])
            _write(group / "type", "DMA")
            _link(real / "iommu_group", group)
            _link(group / "devices" / address, real)


def _node_meminfo(n, mem_kb):
    return f"Node {n} MemTotal:       {mem_kb} kB\nNode {n} MemFree:        {mem_kb // 2} kB"


def _write_meminfo(root, mem_kb):
    _write(root / "proc" / "meminfo", f"MemTotal:       {mem_kb} kB\nMemFree:        0 kB")


def _write_hugepages(base, counts):
    for key, sub in (("huge_1g", "hugepages-1048576kB"), ("huge_2m", "hugepages-2048kB")):
        if counts[key] is not None:
            _write(base / sub / "nr_hugepages", str(counts[key]))
            _write(base / sub / "free_hugepages", str(counts[key]))


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def _link(path, target):
    """A relative symlink at `path` to `target`, as sysfs makes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    path.symlink_to(os.path.relpath(target, path.parent))
