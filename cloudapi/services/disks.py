"""Disk use cases: /linode/instances/{id}/disks (list, view, create, update, delete, resize,
clone, password).

Each write locks the instance's row, checks Linode's rules against what is stored, and
writes the disk change, a job for the host agent and the customer's event (Linode's
actions: disk_create, disk_update, disk_delete, disk_resize, disk_duplicate,
password_reset) in one transaction; a refused request writes nothing. Disks share the
plan's disk: a create, a resize or a clone may use only what no disk holds. The agent's
report of the job moves the disk on (services/storage.on_job_end).
"""

from cloudapi.db.base import utcnow
from cloudapi.db.catalog import Image
from cloudapi.db.disks import Disk
from cloudapi.db.paging import page_of
from cloudapi.domain import sshkeys as keys
from cloudapi.errors import Busy, Invalid
from cloudapi.schemas import load
from cloudapi.schemas.disks import (
    DiskCloneSchema,
    DiskCreateSchema,
    DiskPasswordSchema,
    DiskResizeSchema,
    DiskUpdateSchema,
)
from cloudapi.services import instances, outbox, sshkeys, storage

MAX_DISKS = 50  # Linode: "A Linode can have up to 50 disks."
TOO_MANY_DISKS = "A Linode can have at most 50 disks"
MUST_BE_OFFLINE = "Linode must be shut down to {}."
IN_USE = "Disk is in use by a configuration profile of the running Linode"


def no_space(free):
    return f"Not enough free disk space on this Linode ({max(free, 0)} MB unallocated)"


def listing(session, account_id, instance_id, page_req):
    """Return (disks, page, pages, results) for one page of the instance's disks."""
    instance = instances.get(session, account_id, instance_id)
    return page_of(session, Disk, (Disk.instance_id == instance.id,), [Disk.id], page_req)


def get(session, account_id, instance_id, disk_id):
    return storage.disk_of(session, instances.get(session, account_id, instance_id), disk_id)


def _room(session, instance, size, field="size", freed=0):
    """Refuse `size` MB more than the free disk (plus `freed`, a resized disk's own size)."""
    free = storage.free_space(session, instance)
    if size > free + freed:
        raise Invalid.field(field, no_space(free)) if field else Invalid.reason(no_space(free))


def _offline(instance, doing):
    if instance.status not in storage.OFFLINE:
        raise Busy.reason(MUST_BE_OFFLINE.format(doing))


def _record(session, instance, principal, action, disk, **payload):
    outbox.record(session, instance, action, principal, {"disk_id": disk.id, **payload},
                  event=action)  # fmt: skip


def _load_create(session, principal, body):
    schema = DiskCreateSchema(
        image_of=lambda image_id: session.get(Image, image_id),
        user_keys=lambda names: sshkeys.keys_for_users(session, principal.account_id, names),
    )
    return load(schema, body)


def create(database, principal, instance_id, body):
    """Create a disk, empty or from an image, in the plan's free space."""
    with database.transaction() as session:
        instance = instances.get(session, principal.account_id, instance_id, lock=True)
        data = _load_create(session, principal, body)
        if len(storage.disks_of(session, instance)) >= MAX_DISKS:
            raise Invalid.reason(TOO_MANY_DISKS)
        _room(session, instance, data["size"])
        image = session.get(Image, data["image"]) if data.get("image") else None
        disk = Disk(
            instance_id=instance.id,
            label=data.get("label") or f"{image.label[:43]} Disk",
            filesystem=data.get("filesystem", "ext4"),
            size=data["size"],
            status="not ready",
            disk_encryption=data.get("disk_encryption", instance.disk_encryption),
        )
        session.add(disk)
        session.flush()
        payload = {"label": disk.label, "size": disk.size, "filesystem": disk.filesystem,
                   "image": image.id if image else None}  # fmt: skip
        if image is not None:
            body_keys = [keys.parse(k).text for k in data.get("authorized_keys", [])]
            users = sshkeys.keys_for_users(session, principal.account_id,
                                           data.get("authorized_users"))  # fmt: skip
            payload["authorized_keys"] = list(dict.fromkeys(body_keys + users))
            if data.get("root_pass"):
                payload["root_pass"] = data["root_pass"]  # for the agent only; never kept
        _record(session, instance, principal, "disk_create", disk, **payload)
    return disk


def update(database, principal, instance_id, disk_id, body):
    """Rename a disk (its label is all a disk update changes)."""
    with database.transaction() as session:
        instance = instances.get(session, principal.account_id, instance_id, lock=True)
        disk = storage.disk_of(session, instance, disk_id)
        data = load(DiskUpdateSchema(), body)
        disk.label = data.get("label", disk.label)
        disk.updated = utcnow()
        _record(session, instance, principal, "disk_update", disk, label=disk.label)
    return disk


def delete(database, principal, instance_id, disk_id):
    """Delete a disk that nothing uses: not one in a config of the running Linode.

    Its config slots are emptied at once; its space is free once the agent is done.
    """
    with database.transaction() as session:
        instance = instances.get(session, principal.account_id, instance_id, lock=True)
        disk = storage.ready_disk_of(session, instance, disk_id)
        configs = storage.configs_of(session, instance)
        in_configs = any(disk.id in config.devices.values() for config in configs)
        if in_configs and instance.status not in storage.OFFLINE:
            raise Busy.reason(IN_USE)
        storage.clear_disk(session, disk)
        disk.status = "deleting"
        disk.updated = utcnow()
        _record(session, instance, principal, "disk_delete", disk)


def resize(database, principal, instance_id, disk_id, body):
    """Resize a disk of a Linode that is shut down, within the plan's free space."""
    with database.transaction() as session:
        instance = instances.get(session, principal.account_id, instance_id, lock=True)
        disk = storage.disk_of(session, instance, disk_id)
        data = load(DiskResizeSchema(), body)
        _offline(instance, "resize a disk")
        disk = storage.ready_disk_of(session, instance, disk_id)
        _room(session, instance, data["size"], freed=disk.size)
        from_size, disk.size = disk.size, data["size"]
        disk.status = "not ready"
        disk.updated = utcnow()
        _record(session, instance, principal, "disk_resize", disk, size=disk.size,
                from_size=from_size)  # fmt: skip


def clone(database, principal, instance_id, disk_id, body):
    """Copy a disk into a new one of the same Linode, if the plan has room for it."""
    with database.transaction() as session:
        instance = instances.get(session, principal.account_id, instance_id, lock=True)
        source = storage.disk_of(session, instance, disk_id)
        load(DiskCloneSchema(), body or {})
        source = storage.ready_disk_of(session, instance, disk_id)
        if len(storage.disks_of(session, instance)) >= MAX_DISKS:
            raise Invalid.reason(TOO_MANY_DISKS)
        _room(session, instance, source.size, field=None)
        copy = Disk(instance_id=instance.id, label=f"Copy of {source.label}"[:48],
                    filesystem=source.filesystem, size=source.size, status="not ready",
                    disk_encryption=source.disk_encryption)  # fmt: skip
        session.add(copy)
        session.flush()
        _record(session, instance, principal, "disk_duplicate", copy, source_disk_id=source.id,
                size=copy.size)  # fmt: skip
    return copy


def reset_password(database, principal, instance_id, disk_id, body):
    """Set the root password on a disk of a Linode that is shut down; it is not kept."""
    with database.transaction() as session:
        instance = instances.get(session, principal.account_id, instance_id, lock=True)
        storage.disk_of(session, instance, disk_id)
        data = load(DiskPasswordSchema(), body)
        _offline(instance, "reset a disk's root password")
        disk = storage.ready_disk_of(session, instance, disk_id)
        _record(session, instance, principal, "password_reset", disk, password=data["password"])
