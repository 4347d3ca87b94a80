"""libvirt domain XML rendered from create payloads: structure, and the semantic checks."""

import copy
import uuid
import xml.etree.ElementTree as ET

import pytest

from cloudapi.agent.domain_xml import domain_uuid, render
from cloudapi.agent.domain_xml_checks import parse_cpuset, validate_semantics

NODE1_THREADS = [21, 22, 23, 24, 25, 26, 27, 28, 61, 62, 63, 64, 65, 66, 67, 68]


def gpu(bus, functions=2):
    address = f"0000:{bus:02x}:00.0"
    return {"pci_address": address,
            "iommu_functions": [f"0000:{bus:02x}:00.{f}" for f in range(functions)]}  # fmt: skip


def payload(placement, vcpus=16, memory_mb=65536, gpus=2, instance_id=123):
    return {
        "instance_id": instance_id,
        "label": "gpu-1",
        "type": f"g1-gpu-rtx6000-{gpus}" if gpus else "g6-standard-2",
        "region": "us-east",
        "image": "linode/debian12",
        "booted": True,
        "authorized_keys": [],
        "swap_size": 512,
        "user_data": None,
        "numa_affinity": "strict" if gpus else None,
        "specs": {"vcpus": vcpus, "memory_mb": memory_mb, "disk_mb": 1310720, "gpus": gpus},
        "placement": placement,
    }


def two_gpus_on_node1(hugepages=True):
    return payload({
        "host": "gpu-1.us-east",
        "hugepages_1g": hugepages,
        "nodes": [{"node": 1, "threads": list(NODE1_THREADS), "memory_mb": 65536,
                   "gpus": [gpu(0x8B), gpu(0x8C)]}],
    })  # fmt: skip


def preferred_split():
    """Two GPUs and 16 vCPUs over two nodes: 10 threads and 40 GiB on 0, 6 and 24 GiB on 1."""
    placed = payload({
        "host": "gpu-1.us-east",
        "hugepages_1g": True,
        "nodes": [
            {"node": 0, "threads": [2, 3, 4, 5, 6, 42, 43, 44, 45, 46], "memory_mb": 40960,
             "gpus": [gpu(0x3B)]},
            {"node": 1, "threads": [21, 22, 23, 61, 62, 63], "memory_mb": 24576,
             "gpus": [gpu(0x86, functions=4)]},
        ],
    })  # fmt: skip
    placed["numa_affinity"] = "preferred"
    return placed


def standard():
    return payload(None, vcpus=2, memory_mb=4096, gpus=0, instance_id=77)


def parse(xml):
    return ET.fromstring(xml)


def attributes(elements):
    return [dict(e.attrib) for e in elements]


def address(bus, function):
    return {"domain": "0x0000", "bus": f"0x{bus:02x}", "slot": "0x00", "function": f"0x{function}"}


# --- (a) two GPUs, strict, node 1 ---------------------------------------------------------


def test_two_gpus_pass_every_function_of_each_iommu_group():
    root = parse(render(two_gpus_on_node1()))
    hostdevs = root.findall("devices/hostdev")
    assert len(hostdevs) == 4
    for hostdev in hostdevs:
        assert hostdev.attrib == {"mode": "subsystem", "type": "pci", "managed": "yes"}
        assert attributes(hostdev.findall("driver")) == [{"name": "vfio"}]
    assert attributes(root.findall("devices/hostdev/source/address")) == [
        address(0x8B, 0), address(0x8B, 1), address(0x8C, 0), address(0x8C, 1),
    ]  # fmt: skip


def test_two_gpus_memory_is_bound_strictly_to_node1():
    root = parse(render(two_gpus_on_node1()))
    numatune = root.find("numatune")
    assert attributes(numatune.findall("memory")) == [{"mode": "strict", "nodeset": "1"}]
    assert attributes(numatune.findall("memnode")) == [
        {"cellid": "0", "mode": "strict", "nodeset": "1"}
    ]


def test_two_gpus_pin_each_vcpu_onto_its_reserved_thread():
    root = parse(render(two_gpus_on_node1()))
    vcpu = root.find("vcpu")
    assert vcpu.text == "16" and vcpu.attrib == {"placement": "static"}
    assert attributes(root.findall("cputune/vcpupin")) == [
        {"vcpu": str(i), "cpuset": str(t)} for i, t in enumerate(NODE1_THREADS)
    ]
    assert root.findall("cputune/*") == root.findall("cputune/vcpupin")


def test_two_gpus_memory_hugepages_and_guest_numa():
    root = parse(render(two_gpus_on_node1()))
    for tag in ("memory", "currentMemory"):
        element = root.find(tag)
        assert (element.text, element.attrib) == ("65536", {"unit": "MiB"})
    backing = root.find("memoryBacking")
    assert [child.tag for child in backing] == ["hugepages", "locked"]
    assert attributes(backing.findall("hugepages/page")) == [{"size": "1", "unit": "GiB"}]
    cpu = root.find("cpu")
    assert cpu.attrib == {"mode": "host-passthrough", "check": "none"}
    assert cpu.find("topology").attrib == {"sockets": "1", "dies": "1", "cores": "8",
                                           "threads": "2"}  # fmt: skip
    assert attributes(cpu.findall("numa/cell")) == [
        {"id": "0", "cpus": "0-15", "memory": "65536", "unit": "MiB"}
    ]


def test_two_gpus_machine_disk_network_and_identity():
    root = parse(render(two_gpus_on_node1()))
    assert root.tag == "domain" and root.get("type") == "kvm"
    assert root.findtext("name") == "linode-123"
    assert root.findtext("uuid") == domain_uuid(123)
    os_type = root.find("os/type")
    assert (os_type.text, os_type.attrib) == ("hvm", {"arch": "x86_64", "machine": "q35"})
    assert [f.tag for f in root.find("features")] == ["acpi", "apic"]
    disks = root.findall("devices/disk")
    assert [d.attrib for d in disks] == [{"type": "file", "device": "disk"}] * 2  # root, swap
    root_disk = {"file": "/var/lib/cloudapi/disks/linode-123-root.qcow2"}
    assert disks[0].find("source").attrib == root_disk
    assert disks[0].find("target").attrib == {"dev": "vda", "bus": "virtio"}
    (interface,) = root.findall("devices/interface")
    assert interface.get("type") == "network"
    assert interface.find("source").attrib == {"network": "default"}
    assert interface.find("model").attrib == {"type": "virtio"}
    (instance,) = root.find("metadata")
    assert instance.get("disk_mb") == "1310720" and instance.get("id") == "123"
    assert root.find("devices/memballoon").attrib == {"model": "none"}
    assert validate_semantics(render(two_gpus_on_node1())) == []


def test_uuid_is_stable_per_instance_unless_given():
    assert domain_uuid(123) == domain_uuid(123) != domain_uuid(124)
    assert uuid.UUID(domain_uuid(123)).version == 5
    given = "6F1C2A3E-0B7D-4C55-9A2E-1D2F3A4B5C6D"
    assert parse(render(two_gpus_on_node1(), uuid=given)).findtext("uuid") == given.lower()
    assert render(two_gpus_on_node1()) == render(two_gpus_on_node1())


# --- (b) preferred: split over two nodes ------------------------------------------------------


def test_preferred_split_binds_each_cell_to_its_node():
    placed = preferred_split()
    root = parse(render(placed))
    assert attributes(root.findall("numatune/memory")) == [{"mode": "strict", "nodeset": "0,1"}]
    assert attributes(root.findall("numatune/memnode")) == [
        {"cellid": "0", "mode": "strict", "nodeset": "0"},
        {"cellid": "1", "mode": "strict", "nodeset": "1"},
    ]
    cells = attributes(root.findall("cpu/numa/cell"))
    assert cells == [
        {"id": "0", "cpus": "0-9", "memory": "40960", "unit": "MiB"},
        {"id": "1", "cpus": "10-15", "memory": "24576", "unit": "MiB"},
    ]
    assert sum(int(c["memory"]) for c in cells) == int(root.findtext("memory")) == 65536
    threads = [t for n in placed["placement"]["nodes"] for t in n["threads"]]
    assert [p.get("cpuset") for p in root.findall("cputune/vcpupin")] == [str(t) for t in threads]
    functions = [(a.get("bus"), a.get("function"))
                 for a in root.findall("devices/hostdev/source/address")]  # fmt: skip
    assert functions == [("0x3b", "0x0"), ("0x3b", "0x1")] + [("0x86", f"0x{f}") for f in range(4)]
    assert validate_semantics(render(placed)) == []


# --- (c) no hugepages --------------------------------------------------------------------------


def test_without_hugepages_memory_is_only_locked():
    root = parse(render(two_gpus_on_node1(hugepages=False)))
    assert root.find("memoryBacking/hugepages") is None
    assert [child.tag for child in root.find("memoryBacking")] == ["locked"]
    assert len(root.findall("devices/hostdev")) == 4


# --- (d) standard plan -----------------------------------------------------------------------


def test_standard_plan_has_no_passthrough_pinning_or_numa():
    xml = render(standard())
    root = parse(xml)
    assert root.findtext("name") == "linode-77"
    assert (root.findtext("vcpu"), root.find("vcpu").attrib) == ("2", {"placement": "static"})
    assert root.findtext("memory") == root.findtext("currentMemory") == "4096"
    for path in ("devices/hostdev", "numatune", "cputune", "cpu/numa", "memoryBacking"):
        assert root.find(path) is None, path
    assert root.find("cpu").get("mode") == "host-passthrough"
    assert root.find("cpu/topology").attrib == {"sockets": "1", "dies": "1", "cores": "1",
                                                "threads": "2"}  # fmt: skip
    assert root.find("devices/disk/target").get("dev") == "vda"
    assert root.find("devices/interface/model").get("type") == "virtio"
    assert validate_semantics(xml) == []


def test_odd_vcpus_get_one_thread_per_core():
    root = parse(render(payload(None, vcpus=3, memory_mb=4096, gpus=0)))
    assert root.find("cpu/topology").attrib == {"sockets": "1", "dies": "1", "cores": "3",
                                                "threads": "1"}  # fmt: skip


# --- inconsistent payloads are refused ----------------------------------------------------


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda p: p["placement"]["nodes"][0]["threads"].pop(), "15 threads for 16 vCPUs"),
        (lambda p: p["placement"]["nodes"][0].update(memory_mb=32768), "32768 MiB"),
        (lambda p: p["placement"]["nodes"][0]["threads"].__setitem__(1, 21), "thread twice"),
        (lambda p: p["placement"]["nodes"][0]["gpus"].append(gpu(0x8B)), "function twice"),
        (
            lambda p: p["placement"]["nodes"][0]["gpus"][0].update(iommu_functions=["8b:00.0"]),
            "not a PCI address",
        ),
        (lambda p: p["placement"].update(nodes=[]), "no nodes"),
        (lambda p: p["specs"].update(vcpus=0), "vcpus must be a positive integer"),
    ],
)
def test_inconsistent_payload_is_refused(breakage, message):
    broken = copy.deepcopy(two_gpus_on_node1())
    breakage(broken)
    with pytest.raises(ValueError, match=message):
        render(broken)


def test_hugepages_need_whole_gib_per_node():
    placed = preferred_split()
    placed["placement"]["nodes"][0]["memory_mb"] -= 512
    placed["placement"]["nodes"][1]["memory_mb"] += 512
    with pytest.raises(ValueError, match="whole GiB"):
        render(placed)
    placed["placement"]["hugepages_1g"] = False
    assert validate_semantics(render(placed)) == []


# --- (e) validate_semantics on hand-broken XML --------------------------------------------


def broken(mutate, source=None):
    root = parse(render(source or two_gpus_on_node1()))
    mutate(root)
    return ET.tostring(root, encoding="unicode")


def test_semantics_catch_a_duplicate_host_function():
    def duplicate(root):
        devices = root.find("devices")
        devices.append(copy.deepcopy(devices.find("hostdev")))

    assert validate_semantics(broken(duplicate)) == [
        "host PCI function 0000:8b:00.0 is listed twice"
    ]


def test_semantics_catch_cells_beyond_the_vcpu_count():
    def fewer_vcpus(root):
        root.find("vcpu").text = "8"
        root.find("cpu/topology").set("cores", "4")
        cputune = root.find("cputune")
        for pin in cputune.findall("vcpupin")[8:]:
            cputune.remove(pin)

    assert validate_semantics(broken(fewer_vcpus)) == [
        "numa cell 0: cpus 0-15 go beyond the 8 vCPUs",
        "numa cells hold 16 vCPUs, <vcpu> is 8",
    ]


def test_semantics_catch_memory_that_is_not_the_sum_of_cells():
    def shrink_cell(root):
        root.find("cpu/numa/cell[@id='1']").set("memory", "20480")

    assert validate_semantics(broken(shrink_cell, preferred_split())) == [
        "<memory> is 65536 MiB but the numa cells sum to 61440 MiB"
    ]

    def in_gib(root):  # same amount in other units is fine
        root.find("memory").attrib["unit"] = "GiB"
        root.find("memory").text = "64"

    assert validate_semantics(broken(in_gib)) == []


def test_semantics_catch_a_vcpupin_count_mismatch():
    def drop_pin(root):
        cputune = root.find("cputune")
        cputune.remove(cputune.findall("vcpupin")[-1])

    assert validate_semantics(broken(drop_pin)) == ["15 vcpupin elements for 16 vCPUs"]


def test_semantics_catch_topology_memnode_and_overlapping_cells():
    def several(root):
        root.find("cpu/topology").set("threads", "1")
        root.find("numatune/memnode").set("cellid", "3")
        root.find("cpu/numa/cell[@id='1']").set("cpus", "9-15")

    assert validate_semantics(broken(several, preferred_split())) == [
        "vCPU 9 is in numa cells 0 and 1",
        "cpu topology gives 8 vCPUs, <vcpu> is 16",
        "numatune memnode for cell 3, no such cell",
    ]


def test_semantics_of_unparsable_xml():
    (problem,) = validate_semantics("<domain>")
    assert problem.startswith("not well-formed XML")


def test_parse_cpuset():
    assert parse_cpuset("0-3,8,10-11") == {0, 1, 2, 3, 8, 10, 11}
    with pytest.raises(ValueError):
        parse_cpuset("3-1")
