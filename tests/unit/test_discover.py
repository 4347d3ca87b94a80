"""Host discovery from a sysfs tree: fake trees laid out as Linux lays them out."""

import json
import os
import socket

import pytest

from cloudapi.domain.cpus import format_cpulist, parse_cpulist
from cloudapi.inventory.discover import MODELS, DiscoveryError, discover
from tests.support.sysfs import INTEL, NVIDIA, FakeSysfs

GIB_KB = 1024 * 1024  # kB in a GiB

# A 2-socket, 8-GPU box: 4 GPUs behind each socket, each GPU with its HD audio function.
NODE0_GPUS = {"0000:1a:00.0": 24, "0000:1b:00.0": 25, "0000:3d:00.0": 26, "0000:3e:00.0": 27}
NODE1_GPUS = {"0000:88:00.0": 60, "0000:89:00.0": 61, "0000:b1:00.0": 62, "0000:b2:00.0": 63}


def audio(address):
    return address[:-1] + "1"


def eight_gpu_host(tmp_path):
    fake = (
        FakeSysfs(tmp_path)
        .node(0, cpus="0-19,40-59", mem_kb=192 * GIB_KB + 1023, huge_1g=128, huge_2m=512)
        .node(1, cpus="20-39,60-79", mem_kb=192 * GIB_KB, huge_1g=120)  # no 2M directory
        .pci("0000:00:00.0", INTEL, "0x2020", "0x060000", numa=0)  # host bridge
        .pci("0000:18:00.0", INTEL, "0x1572", "0x020000", numa=0, group=5)  # X710 NIC
    )
    # Declared out of order: the result is sorted by PCI address.
    for numa, gpus in ((1, NODE1_GPUS), (0, NODE0_GPUS)):
        for address, group in reversed(gpus.items()):
            fake.gpu(address, numa=numa, group=group, functions=[audio(address), address])
    return fake.build()


def expected_gpu(address, numa, group, device="1e30", model="Quadro RTX 6000/8000"):
    return {
        "pci_address": address,
        "vendor_id": "10de",
        "device_id": device,
        "model": model,
        "numa_node": numa,
        "iommu_group": group,
        "iommu_functions": [address, audio(address)],
    }


# --- the three trees -------------------------------------------------------------------------


def test_two_node_host_with_eight_gpus(tmp_path):
    host = discover(eight_gpu_host(tmp_path), hostname="gpu-host-1", region="us-east")

    assert host == {
        "hostname": "gpu-host-1",
        "region": "us-east",
        "numa_nodes": [
            {
                "node": 0,
                "cpus": "0-19,40-59",
                "memory_mb": 192 * 1024 - 4096,  # the spare 1023 kB round away
                "hugepages_1g": 128,
                "hugepages_2m": 512,
            },
            {
                "node": 1,
                "cpus": "20-39,60-79",
                "memory_mb": 192 * 1024 - 4096,
                "hugepages_1g": 120,
                "hugepages_2m": 0,
            },
        ],
        "gpus": [expected_gpu(a, 0, g) for a, g in NODE0_GPUS.items()]
        + [expected_gpu(a, 1, g) for a, g in NODE1_GPUS.items()],
    }
    assert json.loads(json.dumps(host)) == host


def test_the_fake_tree_is_laid_out_as_linux_does(tmp_path):
    root = eight_gpu_host(tmp_path)

    dev = root / "sys/bus/pci/devices/0000:1a:00.0"
    assert os.readlink(dev) == "../../../devices/pci0000:1a/0000:1a:00.0"
    assert os.readlink(dev / "iommu_group") == "../../../kernel/iommu_groups/24"
    assert sorted(os.listdir(root / "sys/kernel/iommu_groups/24/devices")) == [
        "0000:1a:00.0",
        "0000:1a:00.1",
    ]
    assert (dev / "class").read_text() == "0x030000\n"
    assert (root / "sys/devices/system/node/online").read_text() == "0-1\n"
    assert (root / "sys/devices/system/cpu/online").read_text() == "0-79\n"


def test_single_node_host_without_numa_information(tmp_path):
    root = (
        FakeSysfs(tmp_path)
        .host(cpus="0-15", mem_kb=64 * GIB_KB + 512, huge_1g=16)
        .gpu("0000:01:00.0", device="0x2230", numa=-1, group=1, functions=["0000:01:00.1"])
        .build()
    )
    assert not (root / "sys/devices/system/node").exists()

    host = discover(root, hostname="small", host_reserved_memory_mb=4096)

    assert host == {
        "hostname": "small",
        "region": None,
        "numa_nodes": [
            {
                "node": 0,
                "cpus": "0-15",
                "memory_mb": 64 * 1024 - 4096,  # the whole reserve comes off the one node
                "hugepages_1g": 16,
                "hugepages_2m": 0,
            }
        ],
        "gpus": [
            {
                "pci_address": "0000:01:00.0",
                "vendor_id": "10de",
                "device_id": "2230",
                "model": "RTX A6000",
                "numa_node": None,
                "iommu_group": 1,
                "iommu_functions": ["0000:01:00.0", "0000:01:00.1"],
            }
        ],
    }


def test_gpu_without_numa_node_or_iommu_group(tmp_path):
    root = (
        FakeSysfs(tmp_path)
        .node(0, cpus="0-1", mem_kb=6 * GIB_KB)
        .gpu(
            "0000:65:00.0",
            device="0x26b9",
            cls="0x030200",
            numa=-1,
            functions=["0000:65:00.0", "0000:65:00.1", "0000:65:00.2"],
        )
        .pci("0000:65:01.0", NVIDIA, "0x10f7", "0x040300")  # next slot: not a sibling
        .pci("0000:66:00.0", INTEL, "0x1572", "0x020000")  # next bus: not a sibling
        .gpu("0000:ca:00.0", device="0x2331", cls="0x030200", numa=None)  # no numa_node file
        .build()
    )
    assert not (root / "sys/kernel/iommu_groups").exists()

    gpus = discover(root, host_reserved_memory_mb=0)["gpus"]

    assert gpus == [
        {
            "pci_address": "0000:65:00.0",
            "vendor_id": "10de",
            "device_id": "26b9",
            "model": "L40S",
            "numa_node": None,
            "iommu_group": None,
            "iommu_functions": ["0000:65:00.0", "0000:65:00.1", "0000:65:00.2"],
        },
        {
            "pci_address": "0000:ca:00.0",
            "vendor_id": "10de",
            "device_id": "2331",
            "model": "H100 PCIe",
            "numa_node": None,
            "iommu_group": None,
            "iommu_functions": ["0000:ca:00.0"],
        },
    ]


# --- which PCI functions count ---------------------------------------------------------------


def test_only_nvidia_vga_and_3d_controllers_are_gpus(tmp_path):
    root = (
        FakeSysfs(tmp_path)
        .node(0, cpus="0-3", mem_kb=16 * GIB_KB)
        .pci("0000:01:00.0", NVIDIA, "0x1e30", "0x030000")  # VGA: a GPU
        .pci("0000:01:00.1", NVIDIA, "0x10f7", "0x040300")  # HD audio
        .pci("0000:01:00.2", NVIDIA, "0x1ad6", "0x0c0330")  # USB 3.1
        .pci("0000:01:00.3", NVIDIA, "0x1ad7", "0x0c8000")  # USB-C UCSI
        .pci("0000:02:00.0", NVIDIA, "0x2335", "0x030200")  # 3D controller: a GPU
        .pci("0000:03:00.0", NVIDIA, "0x1234", "0x038000")  # other display
        .pci("0000:04:00.0", NVIDIA, "0x1234", "0x120000")  # processing accelerator
        .pci("0000:05:00.0", INTEL, "0x1572", "0x020000")  # NIC
        .pci("0000:06:00.0", INTEL, "0x3e92", "0x030000")  # Intel VGA
        .pci("0000:07:00.0", "0x1002", "0x740f", "0x038000")  # AMD
        .build()
    )

    gpus = discover(root)["gpus"]

    assert [(g["pci_address"], g["model"]) for g in gpus] == [
        ("0000:01:00.0", "Quadro RTX 6000/8000"),
        ("0000:02:00.0", "H200"),
    ]
    # Without IOMMU groups, a GPU carries every function at its bus:slot, whatever they are.
    assert gpus[0]["iommu_functions"] == [f"0000:01:00.{f}" for f in range(4)]


def test_unknown_device_id_gets_a_generic_model(tmp_path):
    root = (
        FakeSysfs(tmp_path)
        .node(0, cpus="0-3", mem_kb=16 * GIB_KB)
        .gpu("0000:3b:00.0", device="0x1DB4", cls="0x030200", group=7)  # V100, upper case
        .build()
    )

    (gpu,) = discover(root)["gpus"]

    assert (gpu["device_id"], gpu["model"]) == ("1db4", "NVIDIA 10de:1db4")
    assert (gpu["iommu_group"], gpu["iommu_functions"]) == (7, ["0000:3b:00.0"])


@pytest.mark.parametrize(("device", "model"), sorted(MODELS.items()))
def test_known_models(tmp_path, device, model):
    root = (
        FakeSysfs(tmp_path)
        .node(0, cpus="0", mem_kb=GIB_KB)
        .gpu("0000:3b:00.0", device=f"0x{device}")
        .build()
    )

    (gpu,) = discover(root)["gpus"]

    assert (gpu["device_id"], gpu["model"]) == (device, model)


def test_model_table_covers_the_required_ids():
    assert {
        "1e30": "Quadro RTX 6000/8000",
        "1e36": "Quadro RTX 6000",
        "1e78": "Quadro RTX 6000/8000",
        "2230": "RTX A6000",
        "20b5": "A100 80GB PCIe",
        "2330": "H100 SXM5 80GB",
        "2331": "H100 PCIe",
        "2335": "H200",
        "233b": "H200 NVL",
        "26b9": "L40S",
    }.items() <= MODELS.items()


def test_no_pci_bus_means_no_gpus(tmp_path):
    root = FakeSysfs(tmp_path).node(0, cpus="0-1", mem_kb=GIB_KB).build()

    assert discover(root)["gpus"] == []


# --- NUMA nodes ------------------------------------------------------------------------------


def test_node_dirs_are_used_when_the_online_file_is_missing(tmp_path):
    root = (
        FakeSysfs(tmp_path, node_online=False)
        .node(0, cpus="0-3", mem_kb=8 * GIB_KB)
        .node(1, cpus="4-7", mem_kb=8 * GIB_KB)
        .build()
    )
    (root / "sys/devices/system/node/node_stray").mkdir()  # not a node
    (root / "sys/devices/system/node/node9").write_text("a file, not a node\n")

    nodes = discover(root, host_reserved_memory_mb=0)["numa_nodes"]

    assert [(n["node"], n["cpus"], n["memory_mb"]) for n in nodes] == [
        (0, "0-3", 8192),
        (1, "4-7", 8192),
    ]


def test_online_file_decides_which_nodes_count(tmp_path):
    root = (
        FakeSysfs(tmp_path)
        .node(0, cpus="0-3", mem_kb=8 * GIB_KB)
        .node(1, cpus="4-7", mem_kb=8 * GIB_KB)
        .build()
    )
    (root / "sys/devices/system/node/online").write_text("1\n")  # node 0 offline

    nodes = discover(root, host_reserved_memory_mb=1024)["numa_nodes"]

    assert [(n["node"], n["memory_mb"]) for n in nodes] == [(1, 8192 - 1024)]


@pytest.mark.parametrize(
    ("node_gib", "reserve_mb", "expected_mb"),
    [
        ([192, 192], 8192, [192 * 1024 - 4096] * 2),  # split evenly
        ([192, 192], 0, [192 * 1024] * 2),
        ([100, 200], 1000, [100 * 1024 - 500, 200 * 1024 - 500]),  # even, not by size
        ([64, 64, 64], 8192, [64 * 1024 - 2731] * 3),  # 8192 / 3 rounds up: all kept back
        ([4, 64], 16384, [0, 64 * 1024 - 8192]),  # a node never goes below 0
        ([0, 8], 2048, [0, 8 * 1024 - 1024]),  # a memoryless node
    ],
)
def test_memory_reserve_arithmetic(tmp_path, node_gib, reserve_mb, expected_mb):
    fake = FakeSysfs(tmp_path)
    for n, gib in enumerate(node_gib):
        fake.node(n, cpus=str(n), mem_kb=gib * GIB_KB)

    nodes = discover(fake.build(), host_reserved_memory_mb=reserve_mb)["numa_nodes"]

    assert [n["memory_mb"] for n in nodes] == expected_mb


def test_default_reserve_is_8_gib(tmp_path):
    root = FakeSysfs(tmp_path).host(cpus="0-1", mem_kb=10 * GIB_KB).build()

    assert discover(root)["numa_nodes"][0]["memory_mb"] == 2048


def test_memory_is_kb_floored_to_mb(tmp_path):
    root = FakeSysfs(tmp_path).node(0, cpus="0-1", mem_kb=5859532).build()

    assert discover(root, host_reserved_memory_mb=0)["numa_nodes"][0]["memory_mb"] == 5722


def test_negative_reserve_is_refused(tmp_path):
    root = FakeSysfs(tmp_path).node(0, cpus="0", mem_kb=GIB_KB).build()

    with pytest.raises(ValueError, match="host_reserved_memory_mb"):
        discover(root, host_reserved_memory_mb=-1)


# --- host identity and errors ----------------------------------------------------------------


def test_hostname_defaults_to_this_machine(tmp_path):
    root = FakeSysfs(tmp_path).node(0, cpus="0", mem_kb=GIB_KB).build()

    host = discover(root)

    assert (host["hostname"], host["region"]) == (socket.gethostname(), None)


def test_missing_root_is_a_discovery_error(tmp_path):
    with pytest.raises(DiscoveryError, match="no sys directory"):
        discover(tmp_path / "nowhere")
    with pytest.raises(ValueError):  # DiscoveryError is a ValueError
        discover(tmp_path)


def test_tree_with_no_cpu_information_is_a_discovery_error(tmp_path):
    (tmp_path / "sys").mkdir()

    with pytest.raises(DiscoveryError, match="no NUMA nodes"):
        discover(tmp_path)


def test_garbled_node_online_file_is_a_discovery_error(tmp_path):
    root = FakeSysfs(tmp_path).node(0, cpus="0", mem_kb=GIB_KB).build()
    (root / "sys/devices/system/node/online").write_text("zero\n")

    with pytest.raises(DiscoveryError, match="node/online"):
        discover(root)


# --- symlinks stay inside the root -----------------------------------------------------------


def test_absolute_symlinks_resolve_inside_the_root(tmp_path):
    root = (
        FakeSysfs(tmp_path)
        .node(0, cpus="0-3", mem_kb=16 * GIB_KB)
        .gpu("0000:3b:00.0", numa=0, group=24, functions=["0000:3b:00.1"])
        .build()
    )
    dev = root / "sys/bus/pci/devices/0000:3b:00.0"
    dev.unlink()
    dev.symlink_to("/sys/devices/pci0000:3b/0000:3b:00.0")  # as if root were /
    group = root / "sys/devices/pci0000:3b/0000:3b:00.0/iommu_group"
    group.unlink()
    group.symlink_to("/sys/kernel/iommu_groups/24")

    (gpu,) = discover(root)["gpus"]

    assert (gpu["numa_node"], gpu["iommu_group"]) == (0, 24)
    assert gpu["iommu_functions"] == ["0000:3b:00.0", "0000:3b:00.1"]


def test_dot_dot_never_climbs_above_the_root(tmp_path):
    root = (
        FakeSysfs(tmp_path / "host")
        .node(0, cpus="0-3", mem_kb=16 * GIB_KB)
        .gpu("0000:3b:00.0", numa=0)
        .build()
    )
    dev = root / "sys/bus/pci/devices/0000:3b:00.0"
    dev.unlink()
    dev.symlink_to("../../../../../../../../../../sys/devices/pci0000:3b/0000:3b:00.0")

    (gpu,) = discover(root)["gpus"]

    assert gpu["pci_address"] == "0000:3b:00.0"


def test_symlink_loop_is_a_discovery_error(tmp_path):
    root = FakeSysfs(tmp_path).node(0, cpus="0", mem_kb=GIB_KB).build()
    devices = root / "sys/bus/pci/devices"
    devices.mkdir(parents=True)
    (devices / "0000:3b:00.0").symlink_to("0000:3b:00.0")

    with pytest.raises(DiscoveryError, match="symbolic links"):
        discover(root)


# --- cpulists --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cpus", "canonical"),
    [
        ("0-19,40-59", [*range(20), *range(40, 60)], "0-19,40-59"),
        ("3", [3], "3"),
        ("", [], ""),
        ("\n", [], ""),
        ("0-2,5,7-8\n", [0, 1, 2, 5, 7, 8], "0-2,5,7-8"),
        ("7-8,0-2,5", [0, 1, 2, 5, 7, 8], "0-2,5,7-8"),  # unsorted
        ("0-3,2-5,5,5", [0, 1, 2, 3, 4, 5], "0-5"),  # overlapping, duplicated
        ("0,1,2,3", [0, 1, 2, 3], "0-3"),  # adjacent singles merge
        ("4-4", [4], "4"),
    ],
)
def test_cpulist_round_trip(text, cpus, canonical):
    assert parse_cpulist(text) == cpus
    assert format_cpulist(cpus) == canonical
    assert parse_cpulist(format_cpulist(cpus)) == cpus


def test_format_cpulist_takes_any_order_and_duplicates():
    assert format_cpulist([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert format_cpulist([8, 7, 5, 5, 2, 1, 0, 1]) == "0-2,5,7-8"
    assert format_cpulist(iter({3})) == "3"
    assert format_cpulist([]) == ""


@pytest.mark.parametrize("text", ["a", "1-", "-1", "5-3", "0-2,x", "1.5"])
def test_bad_cpulist_is_a_value_error(text):
    with pytest.raises(ValueError, match="cpulist"):
        parse_cpulist(text)
