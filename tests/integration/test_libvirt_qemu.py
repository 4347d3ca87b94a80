"""`LibvirtDriver` against the real QEMU driver, ``qemu:///system``.

tests/support/libvirt.py starts libvirtd (and virtlogd) when none answers. Domains are
``kvm`` where /dev/kvm is there, else ``qemu`` (software emulation, much slower to boot).
Their files live in a folder under /var/lib/libvirt/images (QEMU runs as libvirt-qemu and
must reach them), removed afterwards. No network interface: the ``default`` network needs
dnsmasq and a bridge, which a test machine need not have.

- The GPU domain of a 2-GPU placement must be accepted by ``defineXML`` (libvirt's own
  semantic checks). Starting it needs what the placement names (VFIO-bound GPUs at those
  addresses, host NUMA node 1, 1 GiB hugepages): where this machine lacks them the test
  says which, with libvirt's message, and skips.
- A standard plan boots a Debian kernel from /boot directly (no bootloader or installed
  image needed) with a root overlay on a tiny base image made here, reaches ``running``,
  ignores the ACPI shutdown (nothing in the guest handles it) so is powered off after the
  timeout, and is undefined with its files removed.

The `virsh` outputs and the seconds from define to running are printed (``pytest -s``).
"""

import glob
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cloudapi.agent import images
from cloudapi.agent.consumer import Agent
from tests.support.databases import missing_service
from tests.support.libvirt import libvirt_uri, system_libvirt
from tests.unit.test_agent import RecordingReporter
from tests.unit.test_domain_xml import payload, two_gpus_on_node1

IMAGE = "linode/debian12"
DOMAIN_TYPE = os.environ.get("CLOUDAPI_TEST_DOMAIN_TYPE") or (
    "kvm" if os.path.exists("/dev/kvm") else "qemu"
)
IMAGES_DIR = Path("/var/lib/libvirt/images")
BOOT_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def conn():
    with system_libvirt() as connection:
        yield connection


@pytest.fixture(scope="module")
def workdir(conn):
    if not IMAGES_DIR.is_dir():
        missing_service(f"{IMAGES_DIR} missing (bin/system-packages: libvirt-daemon-system)")
    if shutil.which("qemu-img") is None:
        missing_service("qemu-img not installed (bin/system-packages: qemu-utils)")
    folder = Path(tempfile.mkdtemp(prefix="cloudapi-test-", dir=IMAGES_DIR))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def store(workdir):
    store = images.ImageStore(workdir / "images")
    store.root.mkdir()
    store.root.chmod(0o755)
    images.create_blank(store.path(IMAGE), 64)
    return store


def kernel():
    kernels = sorted(glob.glob("/boot/vmlinuz-*"))
    if not kernels:
        missing_service("no /boot/vmlinuz-* (bin/system-packages: linux-image-cloud-amd64)")
    initrd = kernels[-1].replace("/vmlinuz-", "/initrd.img-")
    return {"kernel": kernels[-1], "initrd": initrd if os.path.exists(initrd) else None,
            "cmdline": "console=ttyS0 panic=-1"}  # fmt: skip


def make_driver(conn, store, workdir, **options):
    from cloudapi.agent.libvirt_driver import LibvirtDriver

    return LibvirtDriver(libvirt_uri(), store, workdir / "disks", connection=conn,
                         network=None, domain_type=DOMAIN_TYPE, **options)  # fmt: skip


def virsh(*args):
    done = subprocess.run(["virsh", "-c", libvirt_uri(), *args], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    return (done.stdout + done.stderr).strip()


def job(action, instance_id, body=None):
    return {"job_id": uuid.uuid4().hex, "action": action, "instance_id": instance_id,
            "payload": body if body is not None else {"instance_id": instance_id}}  # fmt: skip


def free_id(conn):
    names = {d.name() for d in conn.listAllDomains()}
    while True:
        instance_id = random.randint(900000, 999999)
        if f"linode-{instance_id}" not in names:
            return instance_id


@pytest.fixture
def gpu_domain(conn, store, workdir):
    """The 2-GPU domain, defined (not started); undefined afterwards."""
    driver = make_driver(conn, store, workdir)
    instance_id = free_id(conn)
    gpu = {**two_gpus_on_node1(), "instance_id": instance_id}
    xml = driver.render_xml(gpu)
    try:
        driver.define(instance_id, xml)
        yield driver, instance_id
    finally:
        driver.destroy(instance_id)


def test_gpu_domain_xml_is_accepted_by_define(conn, gpu_domain):
    driver, instance_id = gpu_domain
    domain = conn.lookupByName(f"linode-{instance_id}")
    print(f"\n$ virsh -c {libvirt_uri()} dumpxml linode-{instance_id}")
    print(virsh("dumpxml", f"linode-{instance_id}"))
    xml = domain.XMLDesc(0)
    assert xml.count("<hostdev mode='subsystem' type='pci' managed='yes'>") == 4
    assert "<page size='1048576' unit='KiB'/>" in xml
    assert "<memory mode='strict' nodeset='1'/>" in xml
    assert driver.state(instance_id) == "defined"


def test_gpu_domain_starts_where_the_host_has_what_it_names(gpu_domain):
    """Starting needs the VFIO GPUs, NUMA node 1 and 1 GiB hugepages of the placement."""
    from cloudapi.agent.driver import DriverError

    driver, instance_id = gpu_domain
    lacking = []
    if not os.path.exists("/dev/kvm"):
        lacking.append("KVM (/dev/kvm)")
    if not os.path.isdir("/sys/devices/system/node/node1"):
        lacking.append("host NUMA node 1")
    if not glob.glob("/sys/bus/pci/devices/0000:8b:00.0"):
        lacking.append("the GPUs 0000:8b:00.0 and 0000:8c:00.0 (VFIO)")
    if _hugepages_1g() < 64:
        lacking.append("64 free 1 GiB hugepages")
    try:
        driver.start(instance_id)
    except DriverError as exc:
        pytest.skip(f"this machine lacks {', '.join(lacking) or 'something'}: libvirt "
                    f"refuses the start: {exc}")  # fmt: skip
    assert driver.state(instance_id) == "running"
    driver.stop(instance_id)


def _hugepages_1g():
    path = Path("/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages")
    return int(path.read_text()) if path.exists() else 0


def test_a_standard_plan_boots_a_kernel_shuts_down_and_goes(conn, store, workdir):
    # The default CPU model: under nested KVM (this test machine is a VM) QEMU fails to
    # set host-passthrough's MSR 0x10a (IA32_ARCH_CAPABILITIES) and exits.
    driver = make_driver(conn, store, workdir, boot=kernel(), shutdown_timeout=5, cpu_mode=None)
    agent = Agent("test-qemu", "memory://", RecordingReporter(), driver, workdir / "agent",
                  render_xml=driver.render_xml)  # fmt: skip
    instance_id = free_id(conn)
    plan = payload(None, vcpus=1, memory_mb=512, gpus=0, instance_id=instance_id)
    plan["specs"]["disk_mb"], plan["swap_size"] = 2048, 128
    defined_at = []
    define = driver.define
    driver.define = lambda *args: (defined_at.append(time.monotonic()), define(*args))[1]
    try:
        assert agent.execute(job("create", instance_id, plan)) == ("finished", None)
        domain = conn.lookupByName(f"linode-{instance_id}")
        while domain.state()[0] != 1 and time.monotonic() < defined_at[0] + BOOT_TIMEOUT:
            time.sleep(0.05)
        seconds = time.monotonic() - defined_at[0]
        assert domain.isActive() == 1 and driver.state(instance_id) == "running"
        print(f"\ndomain type {DOMAIN_TYPE}: define to running in {seconds:.2f} s")
        print(f"$ virsh -c {libvirt_uri()} list --all\n{virsh('list', '--all')}")
        assert images.info(driver.disks.root(instance_id))["backing-filename"]
        seeded = driver.disks.seed(instance_id).exists()  # once cloudapi.agent.seed writes one
        print(f"NoCloud seed attached: {seeded}")
        assert ("device='cdrom'" in domain.XMLDesc(0)) == seeded
        time.sleep(2)  # the guest's kernel is up and running
        started = time.monotonic()
        assert agent.execute(job("shutdown", instance_id)) == ("finished", None)
        print(f"shutdown (ACPI, then power-off) took {time.monotonic() - started:.1f} s")
        assert domain.isActive() == 0 and driver.state(instance_id) == "shut off"
        print(f"$ virsh -c {libvirt_uri()} list --all\n{virsh('list', '--all')}")
    finally:
        assert agent.execute(job("delete", instance_id)) == ("finished", None)
    assert f"linode-{instance_id}" not in [d.name() for d in conn.listAllDomains()]
    assert driver.disks.files(instance_id) == []
    print(f"after delete:\n$ virsh -c {libvirt_uri()} list --all\n{virsh('list', '--all')}")


def test_the_interface_is_bound_to_the_instances_firewall_filter(conn, store, workdir):
    """The domain's interface names the instance's nwfilter (`filterref`); the filter is
    defined empty before the domain, rebuilt by a firewall job, and goes with the domain."""
    from cloudapi.agent import nwfilter

    driver = make_driver(conn, store, workdir, boot=kernel(), cpu_mode=None)
    driver.network, driver.firewall = "default", True  # defined only: never started
    agent = Agent("test-qemu", "memory://", RecordingReporter(), driver, workdir / "agent",
                  render_xml=driver.render_xml)  # fmt: skip
    instance_id = free_id(conn)
    plan = payload(None, vcpus=1, memory_mb=512, gpus=0, instance_id=instance_id)
    plan["booted"] = False
    name = nwfilter.filter_name(instance_id)
    rules = {"inbound": [{"action": "ACCEPT", "protocol": "TCP", "ports": "22",
                          "addresses": {"ipv4": ["192.0.2.0/24"]}}],
             "inbound_policy": "DROP", "outbound": [], "outbound_policy": "ACCEPT"}  # fmt: skip
    try:
        assert agent.execute(job("create", instance_id, plan)) == ("finished", None)
        domain = ET.fromstring(conn.lookupByName(f"linode-{instance_id}").XMLDesc(0))
        assert domain.find("devices/interface/filterref").get("filter") == name
        assert "192.0.2.0" not in conn.nwfilterLookupByName(name).XMLDesc(0)  # empty yet
        firewall = job("firewall_apply", instance_id, {"instance_id": instance_id, "rules": rules})
        assert agent.execute(firewall) == ("finished", None)
        assert "192.0.2.0" in conn.nwfilterLookupByName(name).XMLDesc(0)
    finally:
        assert agent.execute(job("delete", instance_id)) == ("finished", None)
    assert name not in [f.name() for f in conn.listAllNWFilters()]
