"""Rebuilding an instance from an image, and resetting its root password.

A rebuild is a create on the same instance: in one transaction, with the instance's row
locked (so a concurrent action sees "Linode busy.", a concurrent delete wins or waits),
its disks and configs are replaced by a create's layout for the new image
(services/storage.provision; `replace_parts`: with new ids), and a `rebuild` job and a
`linode_rebuild` event (the image as its second entity) are written. Everything else
stays: the addresses, the plan, and for a GPU plan the very GPUs, threads and memory it
holds on its host, which the job carries as the placement the agent defines the domain
with (`live_placement`). The agent shuts
the instance down, defines it again and boots it when `booted`; it is `rebuilding`
meanwhile, then `running` (or `offline`).

The root password goes to the agent in the job's payload, sealed to the agent's key
(services/sealing.py), and nowhere else; it leaves the payload when the job ends
(services/jobs.py drops every job's secrets then).

The password reset sets the root password of the root disk (the disk the first config
boots, else the oldest that is not swap) of a Linode that is shut down, as Linode
requires: a `password_reset` job for that disk, the same job the disk's own password
reset writes (services/disks.py), so the agent runs both alike and the job's end drops
the password (services/storage.on_job_end). The instance's status does not move.
"""

from functools import partial

from sqlalchemy import delete, select

from cloudapi.db.base import utcnow
from cloudapi.db.disks import Config, Disk
from cloudapi.db.inventory import Allocation, Gpu, Host
from cloudapi.domain import lifecycle, placement
from cloudapi.domain import sshkeys as keys
from cloudapi.errors import Busy, Invalid
from cloudapi.schemas import load
from cloudapi.schemas.rebuild import PasswordResetSchema, RebuildSchema
from cloudapi.services import disks, outbox, provision, reservations, sshkeys, storage
from cloudapi.services.instances import get

MUST_BE_OFFLINE = disks.MUST_BE_OFFLINE.format("reset the root password")
NO_ROOT_DISK = "This Linode has no disk to reset the root password of"


def rebuild(database, snapshot, principal, features, instance_id, body):
    """Rebuild the caller's instance from `body["image"]`; return the instance."""
    with database.transaction() as session:
        instance = get(session, principal.account_id, instance_id, lock=True)
        data = load(RebuildSchema(
            catalog=snapshot, features=features, instance=instance,
            user_keys=lambda names: sshkeys.keys_for_users(session, principal.account_id, names),
        ), body)  # fmt: skip
        instance.status = lifecycle.next_status("rebuild", instance.status)
        plan, image = snapshot.types[instance.type_id], snapshot.images[data["image"]]
        layout = {"swap_size": instance.swap_size, "interfaces": _interfaces(session, instance)}
        instance.image_id = image.id
        instance.has_user_data = bool(data.get("metadata", {}).get("user_data"))
        instance.disk_encryption = data.get("disk_encryption", instance.disk_encryption)
        instance.updated = utcnow()
        replace_parts(session, instance, partial(storage.provision, session, instance, plan,
                                                 layout, image))  # fmt: skip
        deployed_keys = _deployed_keys(session, principal.account_id, data)
        deployed = {
            **data,
            **layout,
            "region": instance.region_id,
            "authorized_keys": deployed_keys,
        }
        payload = provision.payload(deployed, instance.label, plan)
        payload.update(
            disk_encryption=instance.disk_encryption,
            numa_affinity=instance.numa_affinity,
            placement=live_placement(session, instance),
        )
        secondary = ("image", image.id, image.label[:64])
        outbox.record(session, instance, "rebuild", principal, payload, secondary)
        return instance


def reset_password(database, principal, instance_id, body):
    """Reset the root password on the root disk of the caller's Linode, shut down."""
    with database.transaction() as session:
        instance = get(session, principal.account_id, instance_id, lock=True)
        data = load(PasswordResetSchema(), body)
        if instance.status not in storage.OFFLINE:
            raise Busy.reason(MUST_BE_OFFLINE)
        disk = _root_disk(session, instance)
        payload = {"disk_id": disk.id, "password": data["root_pass"]}
        outbox.record(session, instance, "password_reset", principal, payload,
                      event="password_reset")  # fmt: skip


def replace_parts(session, instance, make):
    """`make()` the instance's new disks and configs, then delete its old ones (as
    storage.remove would), returning what `make` returned.

    New rows first: SQLite hands the highest freed id out again, so a disk or config made
    after the old ones were gone could take an old id that a client still holds.
    """
    old_disks = [d.id for d in storage.disks_of(session, instance)]
    old_configs = storage.config_ids(session, instance)
    made = make()
    session.flush()
    session.execute(delete(Config).where(Config.id.in_(old_configs)))
    session.execute(delete(Disk).where(Disk.id.in_(old_disks)))
    return made


def live_placement(session, instance):
    """What a GPU instance holds on its host now, in the shape of a create's placement
    (reservations.describe), so a job that redefines its domain where it is (a rebuild,
    a clone onto it) pins it to the same node, threads and GPUs. None: a standard plan."""
    if instance.host_id is None:
        return None
    mine = (Allocation.instance_id == instance.id, Allocation.released_at.is_(None),
            Allocation.host_id == instance.host_id)  # fmt: skip
    held = session.scalars(select(Allocation).where(*mine).order_by(Allocation.id)).all()
    if not held:
        return None
    gpus = session.execute(select(Gpu.id, Gpu.numa_node_id).where(Gpu.instance_id == instance.id)
                           .order_by(Gpu.pci_address)).all()  # fmt: skip
    nodes = {}
    for alloc in held:  # one part per node, as placement makes them
        threads, memory = nodes.get(alloc.numa_node_id, ((), 0))
        nodes[alloc.numa_node_id] = (threads + tuple(alloc.threads), memory + alloc.memory_mb)
    parts = tuple(
        placement.Part(node, tuple(g.id for g in gpus if g.numa_node_id == node), threads, memory)
        for node, (threads, memory) in nodes.items()
    )
    host = session.get(Host, instance.host_id)
    return reservations.describe(session, placement.Placement(host.id, parts), host)


def _interfaces(session, instance):
    """The first config's legacy interfaces, as a create's body gives them: the rebuilt
    config keeps the Linode's network (its VLANs) as it keeps its addresses."""
    configs = storage.configs_of(session, instance)
    if not configs:
        return []
    return [{"purpose": i.purpose, "primary": i.primary,
             **({"label": i.label, "ipam_address": i.ipam_address} if i.purpose == "vlan" else {})}
            for i in configs[0].interfaces]  # fmt: skip


def _deployed_keys(session, account_id, data):
    """The body's keys, then its users' profile keys, each once, in one-line form."""
    body_keys = [keys.parse(k).text for k in data.get("authorized_keys", [])]
    users = sshkeys.keys_for_users(session, account_id, data.get("authorized_users"))
    return list(dict.fromkeys(body_keys + users))


def _root_disk(session, instance):
    """The disk the first config boots from (`sda`), else the oldest that is not swap."""
    configs = storage.configs_of(session, instance)
    booted = configs[0].devices.get("sda") if configs else None
    usable = [d for d in storage.disks_of(session, instance) if d.filesystem != "swap"]
    chosen = next((d for d in usable if d.id == booted), usable[0] if usable else None)
    if chosen is None:
        raise Invalid.reason(NO_ROOT_DISK)
    return storage.ready_disk_of(session, instance, chosen.id)
