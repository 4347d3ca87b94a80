"""Disks, config profiles and config interfaces in Linode's shapes.

A config shows every device slot, an empty one as null, and a disk slot as
`{"disk_id": N, "volume_id": null}`; `interfaces` is `[]` when the config has none
(then eth0 is public by default), as Linode answers (linode_api4's recorded
fixtures). `initrd` is always null here.
"""

from cloudapi.api.render import ts
from cloudapi.db.disks import SLOTS


def disk(d):
    return {
        "id": d.id,
        "label": d.label,
        "status": d.status,
        "size": d.size,
        "filesystem": d.filesystem,
        "disk_encryption": d.disk_encryption,
        "created": ts(d.created),
        "updated": ts(d.updated),
    }


def interface(i):
    """A legacy interface; VPC-only fields are left out (no VPC exists here), as in
    Linode's answers for public and VLAN interfaces. `active` is not tracked yet."""
    return {
        "id": i.id,
        "purpose": i.purpose,
        "label": i.label,
        "ipam_address": i.ipam_address,
        "primary": i.primary,
        "active": False,
        "vpc_id": None,
        "subnet_id": None,
    }


def devices(stored):
    return {
        slot: {"disk_id": stored[slot], "volume_id": None} if slot in stored else None
        for slot in SLOTS
    }


def config(c):
    return {
        "id": c.id,
        "label": c.label,
        "kernel": c.kernel,
        "comments": c.comments,
        "memory_limit": c.memory_limit,
        "root_device": c.root_device,
        "run_level": c.run_level,
        "virt_mode": c.virt_mode,
        "initrd": None,
        "helpers": dict(c.helpers),
        "devices": devices(c.devices),
        "interfaces": [interface(i) for i in c.interfaces],
        "created": ts(c.created),
        "updated": ts(c.updated),
    }
