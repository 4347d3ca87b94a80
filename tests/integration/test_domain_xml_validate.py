"""Rendered domain XML against libvirt's own schema, with the real `virt-xml-validate`.

Needs the Debian packages libvirt-clients and libxml2-utils (bin/system-packages); without
them the tests skip, or fail under CLOUDAPI_REQUIRE_SERVICES=1.
"""

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from cloudapi.agent.domain_xml import render
from tests.support.databases import missing_service
from tests.unit.test_domain_xml import preferred_split, standard, two_gpus_on_node1

CASES = {
    "two-gpus-node1": two_gpus_on_node1,
    "preferred-split": preferred_split,
    "no-hugepages": lambda: two_gpus_on_node1(hugepages=False),
    "standard": standard,
}


@pytest.fixture(scope="module")
def validate(tmp_path_factory):
    """Run `virt-xml-validate FILE domain` on an XML string; returns (exit status, stderr)."""
    if not (shutil.which("virt-xml-validate") and shutil.which("xmllint")):
        missing_service("virt-xml-validate not installed (bin/system-packages)")
    folder = tmp_path_factory.mktemp("domains")

    def run(name, xml):
        path = folder / f"{name}.xml"
        path.write_text(xml)
        done = subprocess.run(["virt-xml-validate", str(path), "domain"],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    return run


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_xml_validates(validate, case):
    status, output = validate(case, render(CASES[case]()))
    assert status == 0, output
    assert f"{case}.xml validates" in output


def _numatune_mode(root):
    root.find("numatune/memory").set("mode", "strictest")


def _hostdev_type(root):
    root.find("devices/hostdev").set("type", "pcie")


def _vcpupin_without_cpuset(root):
    del root.find("cputune/vcpupin").attrib["cpuset"]


def _hugepage_without_size(root):
    del root.find("memoryBacking/hugepages/page").attrib["size"]


def _machine_without_os_type(root):
    os_ = root.find("os")
    os_.remove(os_.find("type"))


def _hostdev_function_8(root):
    root.find("devices/hostdev/source/address").set("function", "0x8")


def _hostdev_driver_nvidia(root):
    root.find("devices/hostdev/driver").set("name", "nvidia")


BREAKAGES = {
    "numatune-mode-strictest": _numatune_mode,
    "hostdev-type-pcie": _hostdev_type,
    "vcpupin-without-cpuset": _vcpupin_without_cpuset,
    "hugepage-without-size": _hugepage_without_size,
    "os-without-type": _machine_without_os_type,
    "hostdev-function-8": _hostdev_function_8,
    "hostdev-driver-nvidia": _hostdev_driver_nvidia,
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_broken_xml_fails_to_validate(validate, breakage):
    root = ET.fromstring(render(two_gpus_on_node1()))
    BREAKAGES[breakage](root)
    status, output = validate(breakage, ET.tostring(root, encoding="unicode"))
    assert status != 0, output
    assert f"{breakage}.xml fails to validate" in output
