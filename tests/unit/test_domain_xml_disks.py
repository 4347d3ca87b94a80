"""The disks, boot and host options of `domain_xml.render`; the GPU parts stay as they were."""

import xml.etree.ElementTree as ET

from cloudapi.agent.domain_xml import render
from tests.unit.test_domain_xml import standard, two_gpus_on_node1

KERNEL = {"kernel": "/boot/vmlinuz-6.1", "initrd": "/boot/initrd.img-6.1",
          "cmdline": "console=ttyS0"}  # fmt: skip


def disks(root):
    return [(d.get("device"), d.find("driver").get("type"), d.find("source").get("file"),
             d.find("target").attrib) for d in root.findall("devices/disk")]  # fmt: skip


def test_root_overlay_swap_and_seed_in_the_disk_dir():
    root = ET.fromstring(render(standard(), disk_dir="/srv/disks", seed=True))
    assert disks(root) == [
        ("disk", "qcow2", "/srv/disks/linode-77-root.qcow2", {"dev": "vda", "bus": "virtio"}),
        ("disk", "raw", "/srv/disks/linode-77-swap.img", {"dev": "vdb", "bus": "virtio"}),
        ("cdrom", "raw", "/srv/disks/linode-77-seed.iso", {"dev": "sda", "bus": "sata"}),
    ]
    assert root.find("devices/disk[@device='cdrom']/readonly") is not None


def test_no_swap_no_seed_by_default():
    root = ET.fromstring(render({**standard(), "swap_size": 0}))
    assert [d[3]["dev"] for d in disks(root)] == ["vda"]


def test_direct_kernel_boot_replaces_the_disk_boot():
    os_ = ET.fromstring(render(standard(), boot=KERNEL)).find("os")
    assert [e.tag for e in os_] == ["type", "kernel", "initrd", "cmdline"]
    assert os_.findtext("kernel") == "/boot/vmlinuz-6.1"
    assert os_.findtext("cmdline") == "console=ttyS0"
    assert ET.fromstring(render(standard())).find("os/boot").attrib == {"dev": "hd"}


def test_emulation_network_and_cpu_options():
    root = ET.fromstring(render(standard(), domain_type="qemu", network=None))
    assert root.get("type") == "qemu" and root.find("cpu").attrib == {}
    assert root.find("devices/interface") is None
    kvm_default = ET.fromstring(render(standard(), cpu_mode=None)).find("cpu")
    assert kvm_default.attrib == {} and kvm_default.find("topology") is not None


def test_the_gpu_parts_do_not_change_with_the_options():
    def gpu_parts(xml):
        root = ET.fromstring(xml)
        paths = ("memoryBacking", "cputune", "numatune", "cpu/numa", "devices/hostdev")
        return [ET.tostring(e) for p in paths for e in root.findall(p)]

    plain = render(two_gpus_on_node1())
    options = render(two_gpus_on_node1(), disk_dir="/srv", seed=True, boot=KERNEL, network=None)
    assert gpu_parts(plain) == gpu_parts(options) and len(gpu_parts(plain)) == 8
