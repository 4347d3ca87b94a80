"""Base images and instance disks with the real `qemu-img`, on temporary files."""

import shutil

import pytest

from cloudapi.agent import images
from cloudapi.agent.driver import DriverError
from tests.support.databases import missing_service


@pytest.fixture(autouse=True)
def qemu_img():
    if shutil.which("qemu-img") is None:
        missing_service("qemu-img not installed (bin/system-packages: qemu-utils)")


@pytest.fixture
def store(tmp_path):
    store = images.ImageStore(tmp_path / "images")
    images.create_blank(store.path("linode/debian12"), 16)
    return store


def test_image_ids_name_files_in_the_store(store, tmp_path):
    assert store.path("linode/debian12") == tmp_path / "images" / "linode_debian12.qcow2"
    assert store.base("linode/debian12").is_file()
    for bad in ("", "../etc", ".hidden"):
        with pytest.raises(DriverError, match="not an image id"):
            store.path(bad)


def test_a_missing_base_image_is_a_driver_error_naming_it(store):
    with pytest.raises(DriverError, match="image linode/arch is not on this host"):
        store.base("linode/arch")


def test_an_overlay_on_the_base_of_the_plans_size(store, tmp_path):
    overlay = tmp_path / "disks" / "root.qcow2"
    images.create_overlay(store.base("linode/debian12"), overlay, 2048)
    info = images.info(overlay)
    assert info["format"] == "qcow2" and info["virtual-size"] == 2048 * 2**20
    assert info["backing-filename"] == str(store.base("linode/debian12").resolve())
    assert info["backing-filename-format"] == "qcow2"
    images.create_overlay(store.base("linode/debian12"), overlay, 4096)  # there: kept
    assert images.size_mb(overlay) == 2048
    assert [p.name for p in overlay.parent.iterdir()] == ["root.qcow2"]  # no temporary left


def test_a_blank_swap_disk_resize_and_remove(tmp_path):
    swap = tmp_path / "swap.img"
    images.create_blank(swap, 256, fmt="raw")
    assert images.info(swap)["format"] == "raw" and images.size_mb(swap) == 256
    images.resize(swap, 512)
    assert images.size_mb(swap) == 512
    images.resize(swap, 512)  # the same size: done
    with pytest.raises(DriverError, match="shrinking to 128 MB is not supported"):
        images.resize(swap, 128)
    images.remove(swap)
    images.remove(swap)  # gone already
    assert not swap.exists()
    with pytest.raises(DriverError, match="is missing"):
        images.resize(swap, 1024)


def test_a_copy_has_no_backing_file_and_takes_a_new_size(store, tmp_path):
    overlay = tmp_path / "root.qcow2"
    images.create_overlay(store.base("linode/debian12"), overlay, 64)
    images.copy(overlay, tmp_path / "copy.qcow2", 128)
    info = images.info(tmp_path / "copy.qcow2")
    assert "backing-filename" not in info and info["virtual-size"] == 128 * 2**20


def test_qemu_img_errors_are_driver_errors(tmp_path):
    bad = tmp_path / "bad.qcow2"
    with pytest.raises(DriverError, match="^qemu-img create: "):
        images.create_blank(bad, -5)
    assert not bad.exists()
    with pytest.raises(DriverError, match="base image .* is missing"):
        images.create_overlay(tmp_path / "none.qcow2", tmp_path / "x.qcow2", 10)


def test_instance_disks_of_a_create_payload(store, tmp_path):
    disks = images.InstanceDisks(store, tmp_path / "disks")
    create = {"instance_id": 9, "image": "linode/debian12", "swap_size": 256,
              "specs": {"disk_mb": 4096}}  # fmt: skip
    disks.prepare(9, create)
    assert images.size_mb(disks.root(9)) == 4096 - 256
    assert images.info(disks.swap(9))["format"] == "raw"
    assert [p.name for p in disks.files(9)] == ["linode-9-root.qcow2", "linode-9-swap.img"]
    disks.grow_root(9, {"specs": {"disk_mb": 8192}, "swap_size": 256})
    assert images.size_mb(disks.root(9)) == 8192 - 256
    with pytest.raises(DriverError, match="not on this host"):
        disks.grow_root(10, {"specs": {"disk_mb": 8192}, "from_host": "gpu-2.us-east"})
    disks.remove_all(9)
    assert disks.files(9) == []
