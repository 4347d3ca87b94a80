"""Instance disks and config profiles: what a create makes and a delete removes, what the
disk and config use cases (services/disks.py, services/configs.py) share, and what a
host agent's report of a disk job does to its disk.

A create from an image makes Linode's default layout in the create's own transaction:
a root disk ("Debian 12 Disk", ext4, the plan's disk less the swap), a swap disk
("512 MB Swap Image"; none when `swap_size` is 0) and one config profile booting the
root disk. A create without an image has no disk and no config, as on Linode.
"""

from sqlalchemy import delete, func, select

from cloudapi.db.base import utcnow
from cloudapi.db.catalog import LinodeType
from cloudapi.db.disks import Config, ConfigInterface, Disk
from cloudapi.errors import Busy, NotFound
from cloudapi.services import account_settings

CREATE_KERNEL = "linode/grub2"  # what a create's config boots unless the body names one
DEFAULT_KERNEL = "linode/latest-64bit"  # Linode's spec: a config create's default
ROOT_DEVICE = "/dev/sda"
OFFLINE = ("offline", "stopped")
DISK_BUSY = "Disk busy."
# A disk job's end, by action: what the disk becomes when it finished, when it failed.
# None: the row goes (a delete done; a create or clone that never made its disk). A
# label update or a password reset leaves the status as it is.
ENDINGS = {
    "disk_create": ("ready", None),
    "disk_duplicate": ("ready", None),
    "disk_resize": ("ready", "ready"),
    "disk_delete": (None, "ready"),
}
SECRETS = ("password", "root_pass")  # in a job's payload only until the job ends


def default_helpers(network=True):
    """Linode's documented helper defaults; `network` follows the account's setting."""
    return {"updatedb_disabled": True, "distro": True, "modules_dep": True,
            "network": network, "devtmpfs_automount": False}  # fmt: skip


def interface_rows(interfaces):
    """Config interface rows from loaded legacy interfaces ("" counts as absent)."""
    rows = []
    for position, iface in enumerate(interfaces or []):
        vlan = iface["purpose"] == "vlan"
        rows.append(ConfigInterface(
            position=position, purpose=iface["purpose"], primary=bool(iface.get("primary")),
            label=(iface.get("label") or None) if vlan else None,
            ipam_address=(iface.get("ipam_address") or None) if vlan else None,
        ))  # fmt: skip
    return rows


def provision(session, instance, plan, data, image):
    """Make `instance`'s disks and config profile in the caller's transaction."""
    if image is None:
        return
    swap_size = data.get("swap_size", 512)
    # `boot_size` sets the root disk's size and leaves the rest unallocated for more disks.
    root_size = data.get("boot_size") or plan.disk - swap_size
    made = {"disk_encryption": instance.disk_encryption, "status": "ready"}
    root = Disk(instance_id=instance.id, label=f"{image.label[:43]} Disk", filesystem="ext4",
                size=root_size, **made)  # fmt: skip
    swap = None
    if swap_size:
        swap = Disk(instance_id=instance.id, label=f"{swap_size} MB Swap Image",
                    filesystem="swap", size=swap_size, **made)  # fmt: skip
    session.add_all([d for d in (root, swap) if d is not None])
    session.flush()
    network = data.get("network_helper")
    if network is None:
        network = account_settings.get(session, instance.account_id)["network_helper"]
    devices = {"sda": root.id, **({"sdb": swap.id} if swap is not None else {})}
    session.add(Config(
        instance_id=instance.id, label=f"My {image.label[:32]} Disk Profile",
        kernel=data.get("kernel") or CREATE_KERNEL, comments="", memory_limit=0,
        run_level="default", virt_mode="paravirt", root_device=ROOT_DEVICE, devices=devices,
        helpers=default_helpers(network), interfaces=interface_rows(data.get("interfaces")),
    ))  # fmt: skip


def remove(session, instance):
    """Remove `instance`'s disks and configs in the caller's transaction."""
    session.execute(delete(Config).where(Config.instance_id == instance.id))
    session.execute(delete(Disk).where(Disk.instance_id == instance.id))


# -- what the disk and config use cases share --------------------------------------------


def disks_of(session, instance):
    query = select(Disk).where(Disk.instance_id == instance.id).order_by(Disk.id)
    return list(session.scalars(query))


def disk_of(session, instance, disk_id):
    """The instance's disk by id, or NotFound."""
    disk = session.get(Disk, disk_id)
    if disk is None or disk.instance_id != instance.id:
        raise NotFound()
    return disk


def ready_disk_of(session, instance, disk_id):
    """The instance's disk, refused while a job works on it (Linode: busy)."""
    disk = disk_of(session, instance, disk_id)
    if disk.status != "ready":
        raise Busy.reason(DISK_BUSY)
    return disk


def usable_disk_ids(session, instance):
    """The disks a config slot may name: the instance's, but those being deleted."""
    query = select(Disk.id).where(Disk.instance_id == instance.id, Disk.status != "deleting")
    return set(session.scalars(query))


def free_space(session, instance):
    """MB of the plan's disk that no disk of the instance holds (a deleting one still does)."""
    used = session.scalar(select(func.coalesce(func.sum(Disk.size), 0))
                          .where(Disk.instance_id == instance.id))  # fmt: skip
    return session.get(LinodeType, instance.type_id).disk - used


def config_of(session, instance, config_id):
    """The instance's config by id, or NotFound."""
    config = session.get(Config, config_id)
    if config is None or config.instance_id != instance.id:
        raise NotFound()
    return config


def configs_of(session, instance):
    query = select(Config).where(Config.instance_id == instance.id).order_by(Config.id)
    return list(session.scalars(query))


def config_ids(session, instance):
    """The instance's config ids, oldest first."""
    query = select(Config.id).where(Config.instance_id == instance.id).order_by(Config.id)
    return list(session.scalars(query))


def boot_config(session, instance, config_id):
    """The config a boot or reboot uses: the one asked for (PowerSchema checked that it
    is the instance's), else its first; None when it has none."""
    if config_id is not None:
        return config_id
    found = config_ids(session, instance)
    return found[0] if found else None


def clear_disk(session, disk):
    """Empty every slot of the disk's instance's configs that names `disk`."""
    query = select(Config).where(Config.instance_id == disk.instance_id)
    for config in session.scalars(query):
        kept = {slot: i for slot, i in config.devices.items() if i != disk.id}
        if kept != config.devices:
            config.devices = kept
            config.updated = utcnow()


def forget_secrets(job):
    """Drop the passwords a job carried to its agent, once the job has ended."""
    payload = job.payload or {}
    if any(secret in payload for secret in SECRETS):
        job.payload = {k: v for k, v in payload.items() if k not in SECRETS}


def on_job_end(session, job, ok):
    """A disk job ended (services/jobs.py): its disk becomes ready, or goes, or, for a
    failed resize, gets its old size back. Its secrets leave the job's payload."""
    payload = job.payload or {}
    forget_secrets(job)
    if job.action not in ENDINGS or payload.get("disk_id") is None:
        return
    disk = session.get(Disk, payload["disk_id"])
    if disk is None:
        return  # gone with its instance
    status = ENDINGS[job.action][0 if ok else 1]
    if status is None:
        clear_disk(session, disk)
        session.delete(disk)
        return
    if job.action == "disk_resize" and not ok:
        disk.size = payload.get("from_size", disk.size)
    disk.status = status
    disk.updated = utcnow()
