"""Resizing an instance into another plan, GPU plans included, in one transaction.

The instance's row is locked, so of two concurrent resizes (or a resize and a delete) the
second sees the first's result: "Linode busy." while it runs, 404 once deleted. In the
same transaction the old plan's capacity is given back and the new plan's reserved
(services/reservations.py: the region is serialised, so a resize and a create racing for
the last GPUs cannot both win): on the same host when it fits there (a 1 -> 4 GPU resize
grows in place when the node allows), else wherever placement finds room, which moves
the instance to that host. Leaving a GPU plan gives its GPUs back exactly once. A region
with no room is the same 400 as a create's and changes nothing: the transaction rolls
back, and the old reservation with it.

The job carries the new specs and placement to the host agent, which shuts the instance
down, redefines its domain (hostdevs, numatune, vcpupin) and boots it if it was running;
the instance is `resizing` meanwhile, and a `linode_resize` event follows the job. The
feature gate is the create's: a plan the caller cannot see is "not found", so after a
launch is rolled back nobody without the feature resizes into a GPU plan, while resizing
out of one stays possible.
"""

from cloudapi.db.base import utcnow
from cloudapi.domain import lifecycle, placement
from cloudapi.errors import Busy, Invalid
from cloudapi.schemas import load
from cloudapi.schemas.cross_field import NO_GPU_HERE, TYPE_NOT_FOUND
from cloudapi.schemas.resize import ResizeSchema
from cloudapi.services import outbox, provision, reservations, storage
from cloudapi.services.instances import BUSY_CAPACITY, RESERVE_ATTEMPTS, get

SAME_PLAN = "Linode is already running this service plan."
# Linode's text (linode-cli's own suite asserts it against Linode's API).
DISKS_TOO_BIG = (
    "Linode has allocated more disk than the new service plan allows. "
    "Delete or resize disks smaller."
)


def resize(database, snapshot, principal, features, instance_id, body):
    """Resize the caller's instance into `body["type"]`; return the instance."""
    data = load(ResizeSchema(), body)
    plan = snapshot.visible_type(data["type"], features)
    if plan is None:
        raise Invalid.field("type", TYPE_NOT_FOUND)
    for _attempt in range(RESERVE_ATTEMPTS):
        try:
            return _resize_once(database, snapshot, principal, features, instance_id, plan, data)
        except reservations.Conflict:
            continue  # another transaction took the capacity we chose: place again
    raise Busy.field("type", BUSY_CAPACITY)


def _resize_once(database, snapshot, principal, features, instance_id, plan, data):
    with database.transaction() as session:
        instance = get(session, principal.account_id, instance_id, lock=True)
        if instance.type_id == plan.id:
            raise Invalid.field("type", SAME_PLAN)
        if plan.gpus and not snapshot.offers(plan, instance.region_id, features):
            raise Invalid.field("type", NO_GPU_HERE)
        was_running = instance.status == "running"
        instance.status = lifecycle.next_status("resize", instance.status)
        old = snapshot.types[instance.type_id]
        grown = _fit_disks(session, instance, old, plan, data["allow_auto_disk_resize"])
        from_host, host_id = outbox.queue_of(session, instance), instance.host_id
        if old.gpus or plan.gpus:
            # The region first, then the nodes: releasing before taking the region's lock
            # would hold node rows that a reserver holding the lock waits for (a deadlock).
            reservations.serialise_region(session, instance.region_id)
        if old.gpus:
            reservations.release(session, instance.id)
            instance.host_id = None
        instance.numa_affinity = (instance.numa_affinity or placement.STRICT) if plan.gpus else None
        placed = _reserve(session, instance, plan, host_id) if plan.gpus else None
        instance.type_id, instance.updated = plan.id, utcnow()
        payload = {
            "region": instance.region_id,
            "label": instance.label,
            "from_type": old.id,
            "from_host": from_host,
            "booted": was_running,
            "allow_auto_disk_resize": data["allow_auto_disk_resize"],
            "migration_type": data["migration_type"],
            "specs": provision.specs(plan),
            "placement": placed,
            "disks": grown,
        }
        outbox.record(session, instance, "resize", principal, payload,
                      announce="linode_resize_create")  # fmt: skip
        return instance


def _fit_disks(session, instance, old, plan, auto):
    """The disks must fit the new plan; growing with `auto`, the largest ext disk takes the
    new room (as Linode: a one-disk-plus-swap Linode grows its root). Returns the disks the
    agent must grow, as [{disk_id, size}]."""
    disks = storage.disks_of(session, instance)
    used = sum(d.size for d in disks)
    if used > plan.disk:
        raise Invalid.field("type", DISKS_TOO_BIG)
    roots = [d for d in disks if d.filesystem in ("ext3", "ext4")]
    if not (auto and plan.disk > old.disk and roots):
        return []
    root = max(roots, key=lambda d: (d.size, -d.id))
    root.size += plan.disk - old.disk
    root.updated = utcnow()
    return [{"disk_id": root.id, "size": root.size}]


def _reserve(session, instance, plan, host_id):
    """The new plan's reservation, on host `host_id` when it fits there, as placed."""
    try:
        chosen, host = reservations.reserve(
            session, instance, plan, instance.numa_affinity, host_id
        )
    except placement.NoCapacity as exc:
        reason = f"No capacity for {plan.id} in {instance.region_id}: {exc.reason}"
        raise Invalid.field("type", reason) from None
    return reservations.describe(session, chosen, host)
