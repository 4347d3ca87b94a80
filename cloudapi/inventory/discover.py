"""Read a Linux sysfs tree and describe the GPU host it belongs to.

Pure: standard library only, no Flask, no database. `discover(root)` reads

- NUMA nodes from `sys/devices/system/node/` (`online`, `node<N>/cpulist`, `node<N>/meminfo`,
  `node<N>/hugepages/hugepages-{1048576,2048}kB/nr_hugepages`), falling back to one node 0 made
  from `sys/devices/system/cpu/online` and `proc/meminfo` on hosts without NUMA information;
- NVIDIA display functions (vendor 0x10de, class 0x0300xx VGA or 0x0302xx 3D controller) from
  `sys/bus/pci/devices/`, each with its NUMA node and the IOMMU group whose every function must
  be passed to the guest together.

Every path is resolved inside `root`: a symlink's text is interpreted as if `root` were `/`, and
`..` never climbs above it, so a fake tree (or a copy of another host's /sys) is never mixed with
this machine's.
"""

import os
import re
import socket

from cloudapi.domain.cpus import parse_cpulist
from cloudapi.errors import Invalid

NVIDIA_VENDOR = "10de"
DISPLAY_CLASSES = ("0x0300", "0x0302")  # VGA controller, 3D controller

# Device ids from pci.ids; anything else is named "NVIDIA 10de:<device>".
MODELS = {
    "1e30": "Quadro RTX 6000/8000",
    "1e36": "Quadro RTX 6000",
    "1e78": "Quadro RTX 6000/8000",
    "2230": "RTX A6000",
    "27b0": "RTX 4000 SFF Ada Generation",
    "27b2": "RTX 4000 Ada Generation",
    "20b5": "A100 80GB PCIe",
    "2330": "H100 SXM5 80GB",
    "2331": "H100 PCIe",
    "2335": "H200",
    "233b": "H200 NVL",
    "26b9": "L40S",
}

HUGEPAGE_DIRS = {"hugepages_1g": "hugepages-1048576kB", "hugepages_2m": "hugepages-2048kB"}

NODE_DIR = "sys/devices/system/node"
PCI_DEVICES = "sys/bus/pci/devices"
IOMMU_GROUPS = "sys/kernel/iommu_groups"

_MAX_SYMLINKS = 40  # as the kernel's ELOOP limit
_MEMTOTAL = re.compile(r"^(?:Node\s+\d+\s+)?MemTotal:\s*(\d+)\s*kB", re.MULTILINE)
_NODE_NAME = re.compile(r"^node(\d+)$")


class DiscoveryError(Invalid, ValueError):
    """The tree under `root` cannot describe a host."""


# --- the tree --------------------------------------------------------------------------------


class _Tree:
    """Paths under `root`, resolved with `root` standing in for `/`."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def path(self, rel):
        """The real path of `rel`, every symlink in it followed without leaving the root."""
        todo = _parts(rel)
        done = []
        hops = 0
        while todo:
            part = todo.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            here = os.path.join(self.root, *done, part)
            if os.path.islink(here):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise DiscoveryError(f"too many levels of symbolic links at {here}")
                target = os.readlink(here)
                if target.startswith("/"):
                    done = []
                todo = _parts(target) + todo
            else:
                done.append(part)
        return os.path.join(self.root, *done)

    def read(self, rel, default=None):
        try:
            with open(self.path(rel), encoding="utf-8", errors="replace") as f:
                return f.read().strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return default

    def listdir(self, rel):
        try:
            return sorted(os.listdir(self.path(rel)))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def isdir(self, rel):
        return os.path.isdir(self.path(rel))

    def link_text(self, rel):
        """What the symlink `rel` says (itself not followed), or None if it is not a link."""
        parent, _, name = rel.rstrip("/").rpartition("/")
        here = os.path.join(self.path(parent), name)
        return os.readlink(here) if os.path.islink(here) else None


def _parts(path):
    return [p for p in path.split("/") if p and p != "."]


def _int(text, default=None):
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _memtotal_kb(text):
    match = _MEMTOTAL.search(text or "")
    return int(match.group(1)) if match else 0


# --- NUMA nodes ------------------------------------------------------------------------------


def _node_ids(tree):
    online = tree.read(f"{NODE_DIR}/online")
    if online is not None:
        try:
            return parse_cpulist(online)
        except ValueError as e:
            raise DiscoveryError(f"{tree.root}: {NODE_DIR}/online: {e}") from None
    found = (_NODE_NAME.match(name) for name in tree.listdir(NODE_DIR))
    return sorted(int(m.group(1)) for m in found if m and tree.isdir(f"{NODE_DIR}/{m.group(0)}"))


def _numa_nodes(tree, reserved_mb):
    ids = _node_ids(tree)
    if not ids:
        return [_single_node(tree, reserved_mb)]
    # The reserve is split evenly, rounded up so that all of it is always kept back.
    per_node = -(-reserved_mb // len(ids))
    nodes = []
    for n in ids:
        base = f"{NODE_DIR}/node{n}"
        node = {
            "node": n,
            "cpus": tree.read(f"{base}/cpulist", ""),
            "memory_mb": max(0, _memtotal_kb(tree.read(f"{base}/meminfo")) // 1024 - per_node),
        }
        for key, sub in HUGEPAGE_DIRS.items():
            node[key] = _int(tree.read(f"{base}/hugepages/{sub}/nr_hugepages"), 0)
        nodes.append(node)
    return nodes


def _single_node(tree, reserved_mb):
    """No NUMA information: one node 0 holding every online CPU and all memory."""
    cpus = tree.read("sys/devices/system/cpu/online")
    meminfo = tree.read("proc/meminfo")
    if cpus is None or meminfo is None:
        raise DiscoveryError(
            f"{tree.root}: no NUMA nodes under {NODE_DIR}, and no "
            f"sys/devices/system/cpu/online or proc/meminfo to describe a single node"
        )
    node = {
        "node": 0,
        "cpus": cpus,
        "memory_mb": max(0, _memtotal_kb(meminfo) // 1024 - reserved_mb),
    }
    for key, sub in HUGEPAGE_DIRS.items():
        node[key] = _int(tree.read(f"sys/kernel/mm/hugepages/{sub}/nr_hugepages"), 0)
    return node


# --- GPUs ------------------------------------------------------------------------------------


def _hex_id(text):
    """ "0x1E30" -> "1e30"; None when the file is missing or not hex."""
    try:
        return f"{int(text, 16):04x}"
    except (TypeError, ValueError):
        return None


def _is_gpu(tree, address):
    base = f"{PCI_DEVICES}/{address}"
    vendor = _hex_id(tree.read(f"{base}/vendor"))
    cls = (tree.read(f"{base}/class") or "").lower()
    return vendor == NVIDIA_VENDOR and cls.startswith(DISPLAY_CLASSES)


def _iommu(tree, address, all_addresses):
    """(group number or None, the functions that must travel with `address`)."""
    link = tree.link_text(f"{PCI_DEVICES}/{address}/iommu_group")
    group = _int(os.path.basename(link.rstrip("/"))) if link else None
    if group is not None:
        functions = tree.listdir(f"{IOMMU_GROUPS}/{group}/devices")
        if functions:
            return group, sorted(set(functions) | {address})
    prefix = address.rpartition(".")[0] + "."
    return group, sorted({a for a in all_addresses if a.startswith(prefix)} | {address})


def _gpus(tree):
    addresses = tree.listdir(PCI_DEVICES)
    gpus = []
    for address in addresses:
        if not _is_gpu(tree, address):
            continue
        base = f"{PCI_DEVICES}/{address}"
        device_id = _hex_id(tree.read(f"{base}/device")) or "0000"
        numa = _int(tree.read(f"{base}/numa_node"))
        group, functions = _iommu(tree, address, addresses)
        gpus.append(
            {
                "pci_address": address,
                "vendor_id": NVIDIA_VENDOR,
                "device_id": device_id,
                "model": MODELS.get(device_id, f"NVIDIA {NVIDIA_VENDOR}:{device_id}"),
                "numa_node": numa if numa is not None and numa >= 0 else None,
                "iommu_group": group,
                "iommu_functions": functions,
            }
        )
    return sorted(gpus, key=lambda g: g["pci_address"])


# --- the host --------------------------------------------------------------------------------


def discover(root="/", hostname=None, region=None, host_reserved_memory_mb=8192):
    """Describe the host whose filesystem is mounted at `root` (a JSON-able dict).

    `host_reserved_memory_mb` is kept back for the host itself, split evenly across the NUMA
    nodes; a node's `memory_mb` never goes below 0.
    """
    if host_reserved_memory_mb < 0:
        raise ValueError("host_reserved_memory_mb must not be negative")
    tree = _Tree(root)
    if not tree.isdir("sys"):
        raise DiscoveryError(f"{tree.root}: no sys directory; is sysfs there?")
    return {
        "hostname": hostname if hostname is not None else socket.gethostname(),
        "region": region,
        "numa_nodes": _numa_nodes(tree, host_reserved_memory_mb),
        "gpus": _gpus(tree),
    }
