"""Cloning a Linode's disks and configs to a new Linode, or onto an existing one.

One transaction, the rows of the source and of an existing target locked in id order
(two clones in opposite directions cannot deadlock). The source must not be busy, and it
stays as it is: its status does not move, since it is only read (Cloud Manager shows it
"Cloning" from the `linode_clone` event, whose entity it is). What is copied follows
Linode's spec: without `configs`, every config and the disks they name; with a list,
those; plus the disks `disks` names. The copies must fit the target's plan disk
(services/disks.py's free-space text), and each copied config's slots name the copies.

To a new Linode (another region or plan allowed, the plan visible to the caller as on a
create): the instance is made as a create makes it, with its own addresses
(services/addresses.py) and the source's tags; a GPU plan reserves its capacity in its
region like a create (services/provision.reserve), so a sold-out region is a 400 and the
transaction, instance and addresses included, rolls back. It is `provisioning`.
Onto an existing Linode (`linode_id`, of the same account, shut down): its disks and
configs are replaced by the copies (services/rebuild.replace_parts: with new ids); it
keeps its addresses, plan and reservation, and is `cloning`.

The `clone` job goes to the target's queue (its host or its region's pool): the target's
host copies the source's disks from the source's host. One `linode_clone` event, on the
source with the target as its second entity, as Linode shows it ("Linode a has been
cloned successfully to b"). The clone ends `offline`: Linode does not boot a clone.
"""

import uuid
from functools import partial

from cloudapi.db.base import utcnow
from cloudapi.db.disks import Config, ConfigInterface, Disk
from cloudapi.db.instances import Instance, InstanceTag
from cloudapi.domain import lifecycle
from cloudapi.errors import Busy, Invalid, NotFound
from cloudapi.schemas import DB_INT_MAX, load
from cloudapi.schemas.clone import CloneSchema
from cloudapi.services import addresses, disks, outbox, provision, reservations, storage
from cloudapi.services.instances import (
    BUSY_CAPACITY,
    RESERVE_ATTEMPTS,
    get,
    guard_unique_label,
    label_taken,
)
from cloudapi.services.rebuild import live_placement, replace_parts

TARGET_RUNNING = "Linode must be shut down to be cloned onto."


def clone(database, snapshot, principal, features, instance_id, body):
    """Clone the caller's instance as `body` asks; return the target instance."""
    for _attempt in range(RESERVE_ATTEMPTS):
        try:
            with database.transaction() as session:
                return _clone_once(session, snapshot, principal, features, instance_id, body)
        except reservations.Conflict:
            continue  # another transaction took the capacity we chose: place again
    raise Busy.field("type", BUSY_CAPACITY)


def _clone_once(session, snapshot, principal, features, instance_id, body):
    source, target = _lock(session, principal.account_id, instance_id, body)
    new_target = target is None
    schema = CloneSchema(
        catalog=snapshot, features=features, source=source,
        disk_ids=[d.id for d in storage.disks_of(session, source)],
        config_ids=storage.config_ids(session, source),
        label_taken=lambda label: label_taken(session, principal.account_id, label),
    )  # fmt: skip
    data = load(schema, body)
    lifecycle.require_settled(source.status)
    copied_disks, copied_configs = _chosen(session, source, data)
    if target is None:
        plan = snapshot.types[data["type"]]
        _fits(copied_disks, plan.disk)
        target = _new_target(session, source, plan, data, principal.account_id)
        placed = {"numa_affinity": None, "placement": None}
        if plan.gpus:
            placed = provision.reserve(session, target, plan)
        copies = _copy(session, target, copied_disks, copied_configs)
    else:
        if target.status == "running":
            raise Busy.field("linode_id", TARGET_RUNNING)
        target.status = lifecycle.next_status("clone", target.status)
        target.image_id, target.updated = source.image_id, utcnow()
        plan = snapshot.types[target.type_id]
        _fits(copied_disks, plan.disk)
        placed = {"numa_affinity": target.numa_affinity,
                  "placement": live_placement(session, target)}  # fmt: skip
        make = partial(_copy, session, target, copied_disks, copied_configs)
        copies = replace_parts(session, target, make)
    payload = {
        "region": target.region_id, "label": target.label, "booted": False,
        "source_instance_id": source.id, "source_host": outbox.queue_of(session, source),
        "disks": copies, "config_ids": storage.config_ids(session, target),
        "user_data": data.get("metadata", {}).get("user_data"),
        "specs": provision.specs(plan), "new_target": new_target, **placed,
    }  # fmt: skip
    _record(session, source, target, principal, payload)
    return target


def _lock(session, account_id, instance_id, body):
    """The source and the existing target (or None), their rows locked in id order.

    A `linode_id` that is not an integer is left to the schema, which refuses it; one
    that no id column can hold names no Linode."""
    wanted = body.get("linode_id") if isinstance(body, dict) else None
    target_id = wanted if type(wanted) is int and wanted != instance_id else None
    if target_id is not None and not 0 < target_id <= DB_INT_MAX:
        raise NotFound()
    found = {i: get(session, account_id, i, lock=True)
             for i in sorted({instance_id} | ({target_id} - {None}))}  # fmt: skip
    return found[instance_id], found.get(target_id)


def _chosen(session, source, data):
    """The source's disks and configs to copy: Linode's `configs` and `disks` rules."""
    configs = storage.configs_of(session, source)
    if "configs" in data:
        named = set(data["configs"])
        configs = [c for c in configs if c.id in named]
    wanted = {d for c in configs for d in c.devices.values()} | set(data.get("disks") or [])
    chosen = [d for d in storage.disks_of(session, source) if d.id in wanted]
    if any(d.status != "ready" for d in chosen):
        raise Busy.reason(storage.DISK_BUSY)
    return chosen, configs


def _fits(chosen, plan_disk):
    """The copies must fit in the target's plan disk (a target's own disks are replaced)."""
    if sum(d.size for d in chosen) > plan_disk:
        raise Invalid.reason(disks.no_space(plan_disk))


def _new_target(session, source, plan, data, account_id):
    """A new instance for the clone, as a create makes one, with its own addresses."""
    target = Instance(
        account_id=account_id, label=data.get("label") or f"pending-{uuid.uuid4().hex[:16]}",
        group=data.get("group", ""), type_id=plan.id, region_id=data["region"],
        image_id=source.image_id, status=lifecycle.initial_status(),
        has_user_data=bool(data.get("metadata", {}).get("user_data")),
        backups_enabled=data.get("backups_enabled", False),
        private_ip=data.get("private_ip", False), swap_size=source.swap_size,
        disk_encryption=source.disk_encryption, maintenance_policy=source.maintenance_policy,
        alerts=lifecycle.default_alerts(plan.vcpus),
        numa_affinity=(source.numa_affinity or "strict") if plan.gpus else None,
        tags=[InstanceTag(tag=t) for t in source.tag_names],
    )  # fmt: skip
    session.add(target)
    guard_unique_label(session)
    if "label" not in data:
        target.label = f"linode{target.id}"
        guard_unique_label(session)
    addresses.assign(session, target, data)
    return target


def _copy(session, target, chosen, configs):
    """Copies of `chosen` and `configs` on `target`, the configs' slots naming the copies;
    the job's list of the copies (what the target's host copies from where)."""
    copy_of = {}
    for disk in chosen:
        copy_of[disk.id] = Disk(
            instance_id=target.id, label=disk.label, filesystem=disk.filesystem,
            size=disk.size, status="ready", disk_encryption=disk.disk_encryption,
        )  # fmt: skip
    session.add_all(copy_of.values())
    session.flush()
    for config in configs:
        devices = {slot: copy_of[d].id for slot, d in config.devices.items() if d in copy_of}
        session.add(Config(
            instance_id=target.id, label=config.label, kernel=config.kernel,
            comments=config.comments, memory_limit=config.memory_limit,
            run_level=config.run_level, virt_mode=config.virt_mode,
            root_device=config.root_device, devices=devices, helpers=dict(config.helpers),
            interfaces=[ConfigInterface(position=i.position, purpose=i.purpose,
                                        primary=i.primary, label=i.label,
                                        ipam_address=i.ipam_address)
                        for i in config.interfaces],
        ))  # fmt: skip
    session.flush()
    return [{"source_disk_id": source_id, "disk_id": copy.id, "size": copy.size,
             "filesystem": copy.filesystem, "label": copy.label}
            for source_id, copy in copy_of.items()]  # fmt: skip


def _record(session, source, target, principal, payload):
    """The job on the target's queue, and its event on the source, naming the target."""
    return outbox.record(session, target, "clone", principal, payload,
                         ("linode", target.id, target.label),
                         entity=(source.id, source.label))  # fmt: skip
