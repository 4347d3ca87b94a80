"""The agent's jobs through `LibvirtDriver`, against libvirt's own test driver.

``test:///default`` runs inside this process (libvirt-python only, no daemon); its state
lives in the connection, so each test keeps one connection for the driver and for the
checks. The jobs run through `Agent.execute`, as the consumer runs them, and after each
one libvirt's own domain state (`virDomain.state()`, `isActive()`) is compared. Disks are
real files made with `qemu-img` on a tiny base image made here. Without libvirt-python or
qemu-img the tests skip, or fail under CLOUDAPI_REQUIRE_SERVICES=1.
"""

import shutil
import subprocess
import sys
import uuid

import pytest

from cloudapi.agent import images
from cloudapi.agent.consumer import Agent
from tests.support.databases import missing_service
from tests.support.libvirt import libvirt_module
from tests.unit.test_agent import RecordingReporter
from tests.unit.test_domain_xml import standard, two_gpus_on_node1

IMAGE = "linode/debian12"


@pytest.fixture
def libvirt():
    return libvirt_module()


@pytest.fixture
def conn(libvirt):
    connection = libvirt.open("test:///default")
    yield connection
    connection.close()


@pytest.fixture
def store(tmp_path):
    if shutil.which("qemu-img") is None:
        missing_service("qemu-img not installed (bin/system-packages: qemu-utils)")
    store = images.ImageStore(tmp_path / "images")
    store.root.mkdir()
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(store.path(IMAGE)), "64M"],
                   check=True)  # fmt: skip
    return store


@pytest.fixture
def driver(conn, store, tmp_path):
    from cloudapi.agent.libvirt_driver import LibvirtDriver

    return LibvirtDriver(
        "test:///default",
        store,
        tmp_path / "disks",
        connection=conn,
        shutdown_timeout=2,
        firewall=False,
    )  # fmt: skip  (no nwfilters here)


@pytest.fixture
def agent(driver, tmp_path):
    reporter = RecordingReporter()
    return Agent("test-host", "memory://", reporter, driver, tmp_path / "agent",
                 render_xml=driver.render_xml)  # fmt: skip


def run(agent, action, instance_id, payload=None):
    job = {"job_id": uuid.uuid4().hex, "action": action, "instance_id": instance_id,
           "payload": payload if payload is not None else {"instance_id": instance_id}}  # fmt: skip
    return agent.execute(job)


def lookup(conn, instance_id):
    return conn.lookupByName(f"linode-{instance_id}")


def test_the_whole_job_set_moves_libvirts_own_state(agent, driver, conn, libvirt):
    create = standard()
    assert run(agent, "create", 77, create) == ("finished", None)
    domain = lookup(conn, 77)
    assert domain.isActive() == 1 and domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert driver.state(77) == "running"
    root = driver.disks.root(77)
    backing = images.info(root)
    assert backing["format"] == "qcow2" and backing["virtual-size"] == (1310720 - 512) * 2**20
    assert backing["backing-filename"] == str(driver.store.base(IMAGE).resolve())
    assert images.info(driver.disks.swap(77))["virtual-size"] == 512 * 2**20
    assert f"<source file='{root}'/>" in driver.xml(77)
    assert ("device='cdrom'" in driver.xml(77)) == driver.disks.seed(77).exists()

    assert run(agent, "shutdown", 77) == ("finished", None)
    assert domain.isActive() == 0 and domain.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
    assert driver.state(77) == "shut off"
    assert run(agent, "shutdown", 77) == ("finished", None)  # idempotent

    assert run(agent, "boot", 77) == ("finished", None)
    assert domain.isActive() == 1 and driver.state(77) == "running"
    assert run(agent, "boot", 77) == ("finished", None)  # starting a running one: nothing
    assert run(agent, "reboot", 77) == ("finished", None)
    assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING

    assert run(agent, "create", 77, create) == ("finished", None)  # a redelivered create
    assert domain.isActive() == 1

    assert run(agent, "delete", 77) == ("finished", None)
    assert driver.state(77) is None and driver.xml(77) is None
    assert "linode-77" not in [d.name() for d in conn.listAllDomains()]
    assert driver.disks.files(77) == [] and not root.exists()
    assert run(agent, "delete", 77) == ("finished", None)  # gone already


def test_a_create_not_booted_is_defined_and_left_off(agent, driver, conn):
    assert run(agent, "create", 77, {**standard(), "booted": False}) == ("finished", None)
    assert lookup(conn, 77).isActive() == 0
    assert driver.state(77) == "defined"


def test_gpu_domain_xml_is_accepted_by_the_test_driver(agent, driver, conn):
    """The test driver takes VFIO hostdevs without checking that the devices exist."""
    assert run(agent, "create", 123, two_gpus_on_node1()) == ("finished", None)
    xml = lookup(conn, 123).XMLDesc(0)
    assert xml.count("<hostdev mode='subsystem' type='pci' managed='yes'>") == 4
    assert "<vcpupin vcpu='15' cpuset='68'/>" in xml
    assert driver.state(123) == "running"


def test_jobs_on_a_domain_that_is_not_defined_fail_cleanly(agent):
    for action in ("boot", "shutdown", "reboot"):
        assert run(agent, action, 404) == ("failed", "domain linode-404 is not defined")


def test_xml_libvirt_refuses_is_a_failed_job_with_libvirts_message(agent, driver, conn):
    def overlapping_cells(payload):
        return driver.render_xml(payload).replace("cpus='0-15'", "cpus='0-31'").replace(
            'cpus="0-15"', 'cpus="0-31"')  # fmt: skip

    agent.render_xml = overlapping_cells
    status, message = run(agent, "create", 123, two_gpus_on_node1())
    assert status == "failed"
    assert message.startswith("define linode-123: ")
    assert "Number of CPUs in <numa> exceeds the <vcpu> count" in message
    agent.render_xml = lambda payload: "<domain type='kvm'><name>linode-5</name>"
    status, message = run(agent, "create", 5, {**standard(), "instance_id": 5})
    assert status == "failed" and message.startswith("define linode-5: ")
    assert "linode-123" not in [d.name() for d in conn.listAllDomains()]


def test_a_missing_base_image_fails_the_create_naming_the_image(agent, conn):
    status, message = run(agent, "create", 77, {**standard(), "image": "linode/arch"})
    assert status == "failed" and "image linode/arch is not on this host" in message
    assert "linode-77" not in [d.name() for d in conn.listAllDomains()]


def test_the_disk_jobs_make_real_disks(agent, driver):
    disk = driver.disks.disk(77, 31)
    created = {"disk_id": 31, "label": "data", "size": 100, "filesystem": "ext4"}
    assert run(agent, "disk_create", 77, created) == ("finished", None)
    assert images.size_mb(disk) == 100
    assert run(agent, "disk_resize", 77, {"disk_id": 31, "size": 300, "from_size": 100}) == (
        "finished", None)  # fmt: skip
    assert images.size_mb(disk) == 300
    status, message = run(agent, "disk_resize", 77, {"disk_id": 31, "size": 200})
    assert status == "failed" and "shrinking to 200 MB is not supported" in message
    copy = {"disk_id": 32, "source_disk_id": 31, "size": 400}
    assert run(agent, "disk_duplicate", 77, copy) == ("finished", None)
    assert images.size_mb(driver.disks.disk(77, 32)) == 400
    from_image = {"disk_id": 33, "size": 128, "image": IMAGE}
    assert run(agent, "disk_create", 77, from_image) == ("finished", None)
    assert "backing-filename" in images.info(driver.disks.disk(77, 33))
    assert run(agent, "disk_delete", 77, {"disk_id": 31}) == ("finished", None)
    assert not disk.exists()
    assert run(agent, "disk_delete", 77, {"disk_id": 31}) == ("finished", None)


def test_a_rebuild_makes_the_root_disk_again(agent, driver, conn):
    assert run(agent, "create", 77, standard()) == ("finished", None)
    root = driver.disks.root(77)
    subprocess.run(["qemu-io", "-c", "write 0 1M", str(root)], check=True,
                   capture_output=True)  # fmt: skip
    written = images.info(root)["actual-size"]
    assert run(agent, "rebuild", 77, {**standard(), "booted": True}) == ("finished", None)
    assert images.info(root)["actual-size"] < written
    assert lookup(conn, 77).isActive() == 1


def test_a_broken_connection_is_a_failed_job(store, tmp_path):
    from cloudapi.agent.libvirt_driver import LibvirtDriver

    driver = LibvirtDriver("test:///no/such/file.xml", store, tmp_path / "disks")
    agent = Agent("test-host", "memory://", RecordingReporter(), driver, tmp_path / "agent",
                  render_xml=driver.render_xml)  # fmt: skip
    status, message = run(agent, "boot", 77)
    assert status == "failed" and message.startswith("libvirt at test:///no/such/file.xml: ")


def test_the_agent_builds_the_driver_it_is_told(tmp_path, libvirt):
    from cloudapi.agent.driver import SimulatedDriver
    from cloudapi.agent.libvirt_driver import LibvirtDriver
    from cloudapi.agent.main import build_agent, make_driver

    assert isinstance(make_driver("simulated", tmp_path), SimulatedDriver)
    driver = make_driver("libvirt", tmp_path, libvirt_uri="test:///default",
                         image_store=tmp_path / "images", disk_dir=tmp_path / "disks")  # fmt: skip
    assert isinstance(driver, LibvirtDriver) and driver.uri == "test:///default"
    assert driver.store.root == tmp_path / "images" and driver.disks.dir == tmp_path / "disks"
    agent = build_agent("h", "http://127.0.0.1:1", "t", "memory://", tmp_path, driver=driver)
    assert agent.driver is driver and agent.render_xml == driver.render_xml
    with pytest.raises(ValueError, match="unknown driver 'xen'"):
        make_driver("xen", tmp_path)


def test_the_simulated_agent_needs_no_libvirt():
    code = "import sys, cloudapi.agent.main, cloudapi.cli; assert 'libvirt' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
