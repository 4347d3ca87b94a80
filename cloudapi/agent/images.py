"""Base images and instance disks on a host: files, and `qemu-img` to make and change them.

An :class:`ImageStore` is a folder of base images named by image id (``linode/debian12``
is ``<store>/linode_debian12.qcow2``). An instance's root disk is a qcow2 overlay on its
base image (``qemu-img create -f qcow2 -F qcow2 -b BASE``), so a create copies nothing;
swap and the disk jobs' other disks are blank images. Sizes are in MB (MiB, as the API's).

Every operation is idempotent (a job can run again after the agent was killed in it): a
disk that is already there is kept, one that is gone is not an error, and a disk is written
to a temporary name and renamed, so a crash never leaves half a disk under its real name.
A failing `qemu-img`, or a base image that is not in the store, raises
:class:`~cloudapi.agent.driver.DriverError` with the reason.
"""

import json
import os
import subprocess
from pathlib import Path

from cloudapi.agent import domain_xml
from cloudapi.agent.driver import DriverError

QEMU_IMG = "qemu-img"
TIMEOUT = 600  # seconds; a copy of a large disk is the slowest


class ImageStore:
    """The base images of one host: ``<root>/<image id with / as _><suffix>``."""

    def __init__(self, root, suffix=".qcow2"):
        self.root = Path(root)
        self.suffix = suffix

    def path(self, image):
        name = str(image).replace("/", "_")
        if not name or name.startswith(".") or "\\" in name:
            raise DriverError(f"not an image id: {image!r}")
        return self.root / f"{name}{self.suffix}"

    def base(self, image):
        """The base image file of ``image``; DriverError when the store lacks it."""
        path = self.path(image)
        if not path.is_file():
            raise DriverError(f"image {image} is not on this host (no {path})")
        return path


def qemu_img(*args):
    """Run ``qemu-img ARGS``; its output, or DriverError with its message."""
    try:
        done = subprocess.run([QEMU_IMG, *map(str, args)], capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)  # fmt: skip
    except FileNotFoundError:
        raise DriverError("qemu-img is not installed (Debian package qemu-utils)") from None
    except subprocess.TimeoutExpired:
        raise DriverError(f"qemu-img {args[0]} took over {TIMEOUT} s") from None
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise DriverError(f"qemu-img {args[0]}: {why}")
    return done.stdout


def info(path):
    """``qemu-img info`` of a disk as a dict (``virtual-size`` in bytes, ``format``, ...)."""
    return json.loads(qemu_img("info", "--output=json", "-U", path))


def size_mb(path):
    """A disk's virtual size in MB."""
    return info(path)["virtual-size"] // 2**20


def create_overlay(base, path, mb):
    """A qcow2 disk of ``mb`` MB at ``path`` on top of the base image ``base``."""
    path = Path(path)
    if path.exists():
        return
    if not Path(base).is_file():
        raise DriverError(f"base image {base} is missing")
    with _temporary(path) as tmp:
        qemu_img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", Path(base).resolve(),
                 tmp, f"{int(mb)}M")  # fmt: skip


def create_blank(path, mb, fmt="qcow2"):
    """An empty disk of ``mb`` MB (``raw`` or ``qcow2``) at ``path``."""
    path = Path(path)
    if path.exists():
        return
    with _temporary(path) as tmp:
        qemu_img("create", "-q", "-f", fmt, tmp, f"{int(mb)}M")


def copy(source, path, mb=None):
    """A full copy of ``source`` (no backing file) at ``path``, grown to ``mb`` MB if given."""
    path = Path(path)
    if not path.exists():
        if not Path(source).is_file():
            raise DriverError(f"disk {source} is missing")
        with _temporary(path) as tmp:
            qemu_img("convert", "-q", "-O", "qcow2", source, tmp)
    if mb is not None:
        resize(path, mb)


def resize(path, mb):
    """Grow the disk at ``path`` to ``mb`` MB; the same size is done already. Shrinking is
    refused: it would cut the guest's filesystem, which the host cannot see into."""
    path = Path(path)
    if not path.is_file():
        raise DriverError(f"disk {path} is missing")
    current = size_mb(path)
    if int(mb) == current:
        return
    if int(mb) < current:
        raise DriverError(f"disk {path.name} is {current} MB: shrinking to {mb} MB is not "
                          "supported")  # fmt: skip
    qemu_img("resize", "-q", path, f"{int(mb)}M")


def remove(path):
    """Delete a disk; one that is gone already is fine."""
    Path(path).unlink(missing_ok=True)


class _temporary:
    """A temporary name next to ``path``, renamed onto it when the block succeeds."""

    def __init__(self, path):
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.unlink(missing_ok=True)
        return self.tmp

    def __exit__(self, kind, value, traceback):
        if kind is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)
        return False


class InstanceDisks:
    """The disk files of the instances of one host, all in ``disk_dir``: each instance's
    root disk, swap and seed (`cloudapi.agent.domain_xml` names them), and the disks the
    disk jobs make, ``linode-<instance>-disk-<disk id>.qcow2``."""

    def __init__(self, store, disk_dir):
        self.store = store
        self.dir = Path(disk_dir)

    def root(self, instance_id):
        return Path(domain_xml.disk_path(instance_id, self.dir))

    def swap(self, instance_id):
        return Path(domain_xml.swap_path(instance_id, self.dir))

    def seed(self, instance_id):
        return Path(domain_xml.seed_path(instance_id, self.dir))

    def disk(self, instance_id, disk_id):
        return self.dir / f"{domain_xml.domain_name(instance_id)}-disk-{int(disk_id)}.qcow2"

    def files(self, instance_id):
        return sorted(self.dir.glob(f"{domain_xml.domain_name(instance_id)}-*"))

    def prepare(self, instance_id, payload, fresh=False):
        """Root (an overlay on the image; a copy of a clone's source; else blank) and swap
        of a create payload; ``fresh`` makes the root disk again (a rebuild)."""
        root, swap_mb = self.root(instance_id), int(payload.get("swap_size") or 0)
        root_mb = max(int(payload["specs"]["disk_mb"]) - swap_mb, 1)
        if fresh:
            remove(root)
        if payload.get("image"):
            create_overlay(self.store.base(payload["image"]), root, root_mb)
        elif payload.get("source_instance_id") is not None:
            source = self.root(payload["source_instance_id"])
            if not source.exists() and not root.exists():
                raise DriverError(f"the disks of linode {payload['source_instance_id']} "
                                  "are not on this host: copying between hosts is not "
                                  "implemented")  # fmt: skip
            copy(source, root)
        else:
            create_blank(root, root_mb)
        if swap_mb:
            create_blank(self.swap(instance_id), swap_mb, fmt="raw")

    def write_seed(self, instance_id, iso):
        path = self.seed(instance_id)
        with _temporary(path) as tmp:
            tmp.write_bytes(iso)

    def grow_root(self, instance_id, payload):
        """A resize on this host: the root disk grown to the new plan (never shrunk)."""
        root = self.root(instance_id)
        if not root.exists():
            raise DriverError(f"the disks of linode {instance_id} are not on this host "
                              f"(from {payload.get('from_host')}): copying between hosts "
                              "is not implemented")  # fmt: skip
        swap_mb = int(payload.get("swap_size") or 0)
        wanted = int(payload.get("specs", {}).get("disk_mb") or 0) - swap_mb
        if wanted > size_mb(root):
            resize(root, wanted)

    def storage(self, action, instance_id, payload):
        """The disk jobs: ``disk_create`` (from ``image`` or blank), ``disk_resize``,
        ``disk_duplicate`` (from ``source_disk_id``), ``disk_delete``. Others (labels,
        passwords, configs) change no file here."""
        if "disk_id" not in payload:
            return
        path = self.disk(instance_id, payload["disk_id"])
        if action == "disk_create":
            if payload.get("image"):
                create_overlay(self.store.base(payload["image"]), path, payload["size"])
            else:
                create_blank(path, payload["size"])
        elif action == "disk_resize":
            resize(path, payload["size"])
        elif action == "disk_duplicate":
            copy(self.disk(instance_id, payload["source_disk_id"]), path, payload.get("size"))
        elif action == "disk_delete":
            remove(path)

    def remove_all(self, instance_id):
        for path in self.files(instance_id):
            remove(path)
