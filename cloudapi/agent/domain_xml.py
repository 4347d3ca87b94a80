"""libvirt domain XML for an instance, from the `create` job payload (docs/jobs.md).

`render` is pure: the same payload gives the same XML. A GPU instance (``placement`` set)
gets every PCI function of each GPU's IOMMU group passed through with VFIO, its vCPUs pinned
one to one onto the reserved host threads, its memory bound (``strict``) to the reserved NUMA
node(s) with one guest NUMA cell per host node, and locked RAM (VFIO pins it for DMA), on
1 GiB hugepages when the host has them. A standard plan (``placement`` null) gets only vCPUs,
memory, disk and network; the hypervisor places it.

`validate_semantics` reports what libvirt's RelaxNG schema cannot see (the schema accepts
all of these; libvirt's parser refuses some of them only when the domain is defined).
"""

import math
import re
import uuid as uuidlib
import xml.etree.ElementTree as ET

from cloudapi.domain.cpus import parse_cpulist

DISK_DIR = "/var/lib/cloudapi/disks"
NETWORK = "default"
METADATA_NS = "https://cloudapi.invalid/xmlns/instance/1"
UUID_NAMESPACE = uuidlib.uuid5(uuidlib.NAMESPACE_URL, "https://cloudapi.invalid/linode")
PCI_ADDRESS = re.compile(
    r"^(?P<domain>[0-9a-fA-F]{4}):(?P<bus>[0-9a-fA-F]{2}):(?P<slot>[0-9a-fA-F]{2})"
    r"\.(?P<function>[0-7])$"
)

ET.register_namespace("cloudapi", METADATA_NS)


def domain_name(instance_id):
    return f"linode-{instance_id}"


def domain_uuid(instance_id):
    """The UUID a domain gets when none is given: stable for an instance id."""
    return str(uuidlib.uuid5(UUID_NAMESPACE, str(instance_id)))


def disk_path(instance_id):
    return f"{DISK_DIR}/{domain_name(instance_id)}.img"


def render(payload: dict, uuid: str | None = None) -> str:
    """The domain XML for a create payload; ValueError when the payload is inconsistent."""
    instance_id = payload["instance_id"]
    specs = payload["specs"]
    vcpus = _positive(specs, "vcpus")
    memory_mb = _positive(specs, "memory_mb")
    disk_mb = _positive(specs, "disk_mb")
    placement = payload.get("placement")
    nodes = _nodes(placement, vcpus, memory_mb) if placement else None

    domain = ET.Element("domain", type="kvm")
    _text(domain, "name", domain_name(instance_id))
    _text(domain, "uuid", str(uuidlib.UUID(uuid)) if uuid else domain_uuid(instance_id))
    metadata = ET.SubElement(domain, "metadata")
    ET.SubElement(
        metadata,
        f"{{{METADATA_NS}}}instance",
        id=str(instance_id),
        type=str(payload.get("type") or ""),
        region=str(payload.get("region") or ""),
        disk_mb=str(disk_mb),
    )
    _text(domain, "memory", memory_mb, unit="MiB")
    _text(domain, "currentMemory", memory_mb, unit="MiB")
    if nodes:
        backing = ET.SubElement(domain, "memoryBacking")
        if placement.get("hugepages_1g"):
            hugepages = ET.SubElement(backing, "hugepages")
            ET.SubElement(hugepages, "page", size="1", unit="GiB")
        ET.SubElement(backing, "locked")
    _text(domain, "vcpu", vcpus, placement="static")
    if nodes:
        threads = [t for n in nodes for t in n["threads"]]
        cputune = ET.SubElement(domain, "cputune")
        for vcpu, thread in enumerate(threads):
            ET.SubElement(cputune, "vcpupin", vcpu=str(vcpu), cpuset=str(thread))
        host_nodes = ",".join(dict.fromkeys(str(n["node"]) for n in nodes))
        numatune = ET.SubElement(domain, "numatune")
        ET.SubElement(numatune, "memory", mode="strict", nodeset=host_nodes)
        for cell, n in enumerate(nodes):
            ET.SubElement(
                numatune, "memnode", cellid=str(cell), mode="strict", nodeset=str(n["node"])
            )

    os_ = ET.SubElement(domain, "os")
    _text(os_, "type", "hvm", arch="x86_64", machine="q35")
    ET.SubElement(os_, "boot", dev="hd")
    features = ET.SubElement(domain, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")

    threads_per_core = 2 if vcpus % 2 == 0 else 1
    cpu = ET.SubElement(domain, "cpu", mode="host-passthrough", check="none")
    ET.SubElement(
        cpu,
        "topology",
        sockets="1",
        dies="1",
        cores=str(vcpus // threads_per_core),
        threads=str(threads_per_core),
    )
    if nodes:
        numa = ET.SubElement(cpu, "numa")
        first = 0
        for cell, n in enumerate(nodes):
            last = first + len(n["threads"]) - 1
            ET.SubElement(
                numa,
                "cell",
                id=str(cell),
                cpus=str(first) if first == last else f"{first}-{last}",
                memory=str(n["memory_mb"]),
                unit="MiB",
            )
            first = last + 1

    _text(domain, "on_poweroff", "destroy")
    _text(domain, "on_reboot", "restart")
    _text(domain, "on_crash", "destroy")

    devices = ET.SubElement(domain, "devices")
    disk = ET.SubElement(devices, "disk", type="file", device="disk")
    ET.SubElement(disk, "driver", name="qemu", type="raw", cache="none", io="native")
    ET.SubElement(disk, "source", file=disk_path(instance_id))
    ET.SubElement(disk, "target", dev="vda", bus="virtio")
    interface = ET.SubElement(devices, "interface", type="network")
    ET.SubElement(interface, "source", network=NETWORK)
    ET.SubElement(interface, "model", type="virtio")
    serial = ET.SubElement(devices, "serial", type="pty")
    ET.SubElement(serial, "target", port="0")
    console = ET.SubElement(devices, "console", type="pty")
    ET.SubElement(console, "target", type="serial", port="0")
    if nodes:
        for function in _functions(nodes):
            hostdev = ET.SubElement(devices, "hostdev", mode="subsystem", type="pci", managed="yes")
            ET.SubElement(hostdev, "driver", name="vfio")
            source = ET.SubElement(hostdev, "source")
            ET.SubElement(source, "address", **_pci_attributes(function))
        # Ballooning cannot reclaim locked (VFIO-pinned) memory.
        ET.SubElement(devices, "memballoon", model="none")
    else:
        ET.SubElement(devices, "memballoon", model="virtio")

    ET.indent(domain)
    return ET.tostring(domain, encoding="unicode") + "\n"


def _text(parent, tag, text, **attributes):
    element = ET.SubElement(parent, tag, {k: str(v) for k, v in attributes.items()})
    element.text = str(text)
    return element


def _positive(mapping, key):
    value = mapping.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key} must be a positive integer, not {value!r}")
    return value


def _nodes(placement, vcpus, memory_mb):
    nodes = placement.get("nodes") or []
    if not nodes:
        raise ValueError("placement has no nodes")
    threads = [t for n in nodes for t in n["threads"]]
    if any(not n["threads"] for n in nodes):
        raise ValueError("a placement node has no threads")
    if len(threads) != vcpus:
        raise ValueError(f"placement has {len(threads)} threads for {vcpus} vCPUs")
    if len(set(threads)) != len(threads):
        raise ValueError("placement lists a host thread twice")
    total = sum(n["memory_mb"] for n in nodes)
    if total != memory_mb:
        raise ValueError(f"placement nodes hold {total} MiB, the plan {memory_mb} MiB")
    if placement.get("hugepages_1g") and any(n["memory_mb"] % 1024 for n in nodes):
        raise ValueError("1 GiB hugepages need each node's memory in whole GiB")
    functions = _functions(nodes)
    if len(set(functions)) != len(functions):
        raise ValueError("placement lists a PCI function twice")
    return nodes


def _functions(nodes):
    """Every PCI function of every GPU, in order: an IOMMU group passes through whole."""
    functions = []
    for n in nodes:
        for gpu in n.get("gpus", []):
            group = gpu.get("iommu_functions") or [gpu["pci_address"]]
            functions.extend(a.lower() for a in group)
    return functions


def _pci_attributes(address):
    match = PCI_ADDRESS.match(address)
    if not match:
        raise ValueError(f"not a PCI address: {address!r}")
    return {
        "domain": f"0x{match['domain']}",
        "bus": f"0x{match['bus']}",
        "slot": f"0x{match['slot']}",
        "function": f"0x{match['function']}",
    }


# --- checks the schema cannot make ------------------------------------------------------

UNIT_BYTES = {
    "b": 1, "bytes": 1,
    "kb": 10**3, "k": 2**10, "kib": 2**10,
    "mb": 10**6, "m": 2**20, "mib": 2**20,
    "gb": 10**9, "g": 2**30, "gib": 2**30,
    "tb": 10**12, "t": 2**40, "tib": 2**40,
    "pb": 10**15, "p": 2**50, "pib": 2**50,
    "eb": 10**18, "e": 2**60, "eib": 2**60,
}  # fmt: skip


def validate_semantics(xml: str) -> list[str]:
    """Problems in a domain XML that RelaxNG validation passes; [] when none are found."""
    try:
        domain = ET.fromstring(xml)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    problems = []
    vcpu = _int(domain.findtext("vcpu"))
    if vcpu is None:
        problems.append("no <vcpu> count")

    cells = domain.findall("cpu/numa/cell")
    seen_vcpus = {}
    for cell in cells:
        cell_id = cell.get("id")
        try:
            cpus = parse_cpuset(cell.get("cpus", ""))
        except ValueError:
            problems.append(f"numa cell {cell_id}: cpus {cell.get('cpus')!r} is not a CPU list")
            continue
        if vcpu is not None and cpus and max(cpus) >= vcpu:
            problems.append(
                f"numa cell {cell_id}: cpus {cell.get('cpus')} go beyond the {vcpu} vCPUs"
            )
        for c in sorted(cpus):
            if c in seen_vcpus:
                problems.append(f"vCPU {c} is in numa cells {seen_vcpus[c]} and {cell_id}")
            seen_vcpus.setdefault(c, cell_id)
    if cells and vcpu is not None and len(seen_vcpus) != vcpu:
        problems.append(f"numa cells hold {len(seen_vcpus)} vCPUs, <vcpu> is {vcpu}")

    memory = _bytes(domain.find("memory"))
    current = _bytes(domain.find("currentMemory"))
    if cells:
        cell_bytes = [_bytes(cell, attribute="memory") for cell in cells]
        if None in cell_bytes:
            problems.append("a numa cell has no readable memory size")
        elif memory is not None and sum(cell_bytes) != memory:
            problems.append(
                f"<memory> is {memory // 2**20} MiB but the numa cells sum to "
                f"{sum(cell_bytes) // 2**20} MiB"
            )
    if memory is not None and current is not None and current > memory:
        problems.append("<currentMemory> is larger than <memory>")

    pins = domain.findall("cputune/vcpupin")
    if pins and vcpu is not None and len(pins) != vcpu:
        problems.append(f"{len(pins)} vcpupin elements for {vcpu} vCPUs")
    pinned = [_int(p.get("vcpu")) for p in pins]
    if len(set(pinned)) != len(pinned):
        problems.append("a vCPU is pinned twice")
    if vcpu is not None and any(p is not None and p >= vcpu for p in pinned):
        problems.append(f"vcpupin names a vCPU beyond the {vcpu} vCPUs")

    topology = domain.find("cpu/topology")
    if topology is not None and vcpu is not None:
        parts = [_int(topology.get(k, "1")) for k in ("sockets", "dies", "cores", "threads")]
        if None not in parts and math.prod(parts) != vcpu:
            problems.append(f"cpu topology gives {math.prod(parts)} vCPUs, <vcpu> is {vcpu}")

    cell_ids = {cell.get("id") for cell in cells}
    for memnode in domain.findall("numatune/memnode"):
        if memnode.get("cellid") not in cell_ids:
            problems.append(f"numatune memnode for cell {memnode.get('cellid')}, no such cell")

    seen_functions = set()
    for address in domain.findall("devices/hostdev[@type='pci']/source/address"):
        key = tuple(_int(address.get(k), 0) for k in ("domain", "bus", "slot", "function"))
        if key in seen_functions:
            problems.append(
                "host PCI function {:04x}:{:02x}:{:02x}.{:x} is listed twice".format(*key)
            )
        seen_functions.add(key)
    return problems


def parse_cpuset(text):
    """'0-3,8,10-11' -> {0, 1, 2, 3, 8, 10, 11}; ValueError when malformed or empty."""
    if not text.strip():
        raise ValueError("empty CPU list")
    return set(parse_cpulist(text))


def _int(text, base=10):
    if text is None:
        return None
    try:
        return int(text.strip(), base)
    except ValueError:
        return None


def _bytes(element, attribute=None):
    if element is None:
        return None
    value = _int(element.get(attribute) if attribute else element.text)
    factor = UNIT_BYTES.get(element.get("unit", "KiB").lower())
    if value is None or factor is None:
        return None
    return value * factor
