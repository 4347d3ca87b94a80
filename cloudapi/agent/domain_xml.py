"""libvirt domain XML for an instance, from the `create` job payload (docs/jobs.md).

`render` is pure: the same payload gives the same XML. A GPU instance (``placement`` set)
gets every PCI function of each GPU's IOMMU group passed through with VFIO, its vCPUs pinned
one to one onto the reserved host threads, its memory bound (``strict``) to the reserved NUMA
node(s) with one guest NUMA cell per host node, and locked RAM (VFIO pins it for DMA), on
1 GiB hugepages when the host has them. A standard plan (``placement`` null) gets only vCPUs,
memory, disks and network; the hypervisor places it.

Every domain's disks are files in ``disk_dir``: the root disk (a qcow2 overlay on the image,
`cloudapi.agent.images`) as vda, swap (raw) as vdb when the payload has ``swap_size``, and
the cloud-init NoCloud seed as a SATA CD-ROM when ``seed`` is set. ``boot`` (``kernel``,
``initrd``, ``cmdline``) boots a kernel of the host directly instead of the disk's
bootloader; ``domain_type="qemu"`` is QEMU's emulation, for hosts without KVM (a default
CPU model there: host-passthrough needs KVM); ``cpu_mode=None`` asks for the hypervisor's
default CPU model under KVM too (some nested hypervisors refuse host-passthrough);
``network=None`` leaves out the interface. ``job_id`` and ``request_id`` in the payload
(the agent adds them) go into the domain's ``<metadata>`` beside the instance id.

`cloudapi.agent.domain_xml_checks` checks what libvirt's RelaxNG schema cannot see.
"""

import re
import uuid as uuidlib
import xml.etree.ElementTree as ET

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


def disk_path(instance_id, disk_dir=DISK_DIR):
    """The root disk: a qcow2 overlay on the instance's image."""
    return f"{disk_dir}/{domain_name(instance_id)}-root.qcow2"


def swap_path(instance_id, disk_dir=DISK_DIR):
    return f"{disk_dir}/{domain_name(instance_id)}-swap.img"


def seed_path(instance_id, disk_dir=DISK_DIR):
    return f"{disk_dir}/{domain_name(instance_id)}-seed.iso"


def render(
    payload: dict,
    uuid: str | None = None,
    *,
    disk_dir: str = DISK_DIR,
    seed: bool = False,
    boot: dict | None = None,
    network: str | None = NETWORK,
    domain_type: str = "kvm",
    cpu_mode: str | None = "host-passthrough",
    firewall_filter: str | None = None,
) -> str:
    """The domain XML for a create payload; ValueError when the payload is inconsistent.
    `firewall_filter` names the nwfilter the interface is bound to (its Cloud Firewall)."""
    instance_id = payload["instance_id"]
    specs = payload["specs"]
    vcpus = _positive(specs, "vcpus")
    memory_mb = _positive(specs, "memory_mb")
    disk_mb = _positive(specs, "disk_mb")
    placement = payload.get("placement")
    nodes = _nodes(placement, vcpus, memory_mb) if placement else None

    domain = ET.Element("domain", type=domain_type)
    _text(domain, "name", domain_name(instance_id))
    _text(domain, "uuid", str(uuidlib.UUID(uuid)) if uuid else domain_uuid(instance_id))
    _metadata(domain, payload, disk_mb)
    _text(domain, "memory", memory_mb, unit="MiB")
    _text(domain, "currentMemory", memory_mb, unit="MiB")
    _memory_backing_and_pinning(domain, placement, nodes, vcpus)
    os_ = ET.SubElement(domain, "os")
    _text(os_, "type", "hvm", arch="x86_64", machine="q35")
    _boot(os_, boot)
    features = ET.SubElement(domain, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    _cpu(domain, vcpus, nodes, cpu_mode if domain_type == "kvm" else None)
    _text(domain, "on_poweroff", "destroy")
    _text(domain, "on_reboot", "restart")
    _text(domain, "on_crash", "destroy")
    devices = ET.SubElement(domain, "devices")
    _disks(devices, instance_id, payload, disk_dir, seed)
    _devices(devices, nodes, network, firewall_filter)

    ET.indent(domain)
    return ET.tostring(domain, encoding="unicode") + "\n"


def _metadata(domain, payload, disk_mb):
    """`<cloudapi:instance>`: the instance, and (when the agent passes them) the job that
    defined the domain and its request's trace id, so `virsh dumpxml` leads to the trace.
    libvirt keeps one element per namespace, hence attributes of that one element."""
    trace = {k: str(payload[f"{k}_id"]) for k in ("job", "request") if payload.get(f"{k}_id")}
    metadata = ET.SubElement(domain, "metadata")
    ET.SubElement(metadata, f"{{{METADATA_NS}}}instance", id=str(payload["instance_id"]),
                  type=str(payload.get("type") or ""), region=str(payload.get("region") or ""),
                  disk_mb=str(disk_mb), **trace)  # fmt: skip


def _memory_backing_and_pinning(domain, placement, nodes, vcpus):
    """A GPU instance's locked (hugepage) memory, vCPUs pinned one to one, memory bound to
    its host NUMA nodes; a standard plan gets only its vCPU count."""
    if nodes:
        backing = ET.SubElement(domain, "memoryBacking")
        if placement.get("hugepages_1g"):
            hugepages = ET.SubElement(backing, "hugepages")
            ET.SubElement(hugepages, "page", size="1", unit="GiB")
        ET.SubElement(backing, "locked")
    _text(domain, "vcpu", vcpus, placement="static")
    if not nodes:
        return
    threads = [t for n in nodes for t in n["threads"]]
    cputune = ET.SubElement(domain, "cputune")
    for vcpu, thread in enumerate(threads):
        ET.SubElement(cputune, "vcpupin", vcpu=str(vcpu), cpuset=str(thread))
    host_nodes = ",".join(dict.fromkeys(str(n["node"]) for n in nodes))
    numatune = ET.SubElement(domain, "numatune")
    ET.SubElement(numatune, "memory", mode="strict", nodeset=host_nodes)
    for cell, n in enumerate(nodes):
        ET.SubElement(numatune, "memnode", cellid=str(cell), mode="strict", nodeset=str(n["node"]))


def _boot(os_, boot):
    """Boot from the disk, or a host kernel (with its initrd and command line) directly."""
    if not boot or not boot.get("kernel"):
        ET.SubElement(os_, "boot", dev="hd")
        return
    _text(os_, "kernel", boot["kernel"])
    for tag in ("initrd", "cmdline"):
        if boot.get(tag):
            _text(os_, tag, boot[tag])


def _cpu(domain, vcpus, nodes, mode="host-passthrough"):
    """A host-passthrough CPU (``mode`` None: the hypervisor's default model) with a
    topology of `vcpus`, and one guest cell per host node."""
    threads_per_core = 2 if vcpus % 2 == 0 else 1
    cpu = ET.SubElement(domain, "cpu", {"mode": mode, "check": "none"} if mode else {})
    cores = str(vcpus // threads_per_core)
    ET.SubElement(
        cpu, "topology", sockets="1", dies="1", cores=cores, threads=str(threads_per_core)
    )
    if not nodes:
        return
    numa = ET.SubElement(cpu, "numa")
    first = 0
    for cell, n in enumerate(nodes):
        last = first + len(n["threads"]) - 1
        cpus = str(first) if first == last else f"{first}-{last}"
        ET.SubElement(numa, "cell", id=str(cell), cpus=cpus, memory=str(n["memory_mb"]), unit="MiB")
        first = last + 1


def _disks(devices, instance_id, payload, disk_dir, seed):
    """Root (vda, qcow2 overlay), swap (vdb, raw) if any, the NoCloud seed as a CD-ROM."""
    _disk(devices, disk_path(instance_id, disk_dir), "vda", "qcow2")
    if payload.get("swap_size"):
        _disk(devices, swap_path(instance_id, disk_dir), "vdb", "raw")
    if seed:
        cdrom = ET.SubElement(devices, "disk", type="file", device="cdrom")
        ET.SubElement(cdrom, "driver", name="qemu", type="raw")
        ET.SubElement(cdrom, "source", file=seed_path(instance_id, disk_dir))
        ET.SubElement(cdrom, "target", dev="sda", bus="sata")
        ET.SubElement(cdrom, "readonly")


def _disk(devices, path, dev, kind):
    disk = ET.SubElement(devices, "disk", type="file", device="disk")
    ET.SubElement(disk, "driver", name="qemu", type=kind, cache="none", io="native")
    ET.SubElement(disk, "source", file=path)
    ET.SubElement(disk, "target", dev=dev, bus="virtio")


def _devices(devices, nodes, network, firewall_filter=None):
    """Network, serial console; a GPU instance's VFIO functions, and no balloon."""
    if network:
        interface = ET.SubElement(devices, "interface", type="network")
        ET.SubElement(interface, "source", network=network)
        ET.SubElement(interface, "model", type="virtio")
        if firewall_filter:
            ET.SubElement(interface, "filterref", filter=firewall_filter)
    serial = ET.SubElement(devices, "serial", type="pty")
    ET.SubElement(serial, "target", port="0")
    console = ET.SubElement(devices, "console", type="pty")
    ET.SubElement(console, "target", type="serial", port="0")
    if not nodes:
        ET.SubElement(devices, "memballoon", model="virtio")
        return
    for function in _functions(nodes):
        hostdev = ET.SubElement(devices, "hostdev", mode="subsystem", type="pci", managed="yes")
        ET.SubElement(hostdev, "driver", name="vfio")
        source = ET.SubElement(hostdev, "source")
        ET.SubElement(source, "address", **_pci_attributes(function))
    # Ballooning cannot reclaim locked (VFIO-pinned) memory.
    ET.SubElement(devices, "memballoon", model="none")


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
