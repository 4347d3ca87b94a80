"""Moving GPU instances off a host: an operator drains it, each instance migrates.

The protocol holds both places. In one transaction, with the instance's row locked and
its region serialised (services/reservations.py), the instance's plan is reserved again
on another host of the region that fits (never the one it leaves), while its old
reservation stays held; the instance is `migrating`; its `migrate` job goes to the new
host with the new placement, and a `linode_migrate` event follows it. When the new host's
agent reports, services/moves.py settles it: finished, the old host's share is given back
and the old host is told to undefine the domain; failed, the new share is given back and
the instance is where it was, holding its old GPUs only, in the status it had. So the
capacity report shows an instance in flight on both hosts, and a drained host is empty
once every migration finished.

Customers start a migration the same way: Linode lets them begin a pending one, and an
instance on a draining host has one. A customer may also move an instance to another
data center (`region`): the same protocol, with the plan reserved in that region (GPU
plans) and one address of each kind the instance has taken there too, so the instance
holds both places and both sets of addresses until the new side reports; then one set
goes (services/moves.py). Linode's `linode_migrate_datacenter_create` notice is written
with the job, and its `linode_migrate_datacenter` event once the agent starts.
"""

from typing import NamedTuple

from sqlalchemy import select

from cloudapi.db.catalog import Region
from cloudapi.db.instances import Instance
from cloudapi.db.inventory import Host
from cloudapi.domain import lifecycle, placement
from cloudapi.errors import Invalid
from cloudapi.principal import Principal
from cloudapi.schemas import load
from cloudapi.schemas.cross_field import REGION_NOT_FOUND
from cloudapi.schemas.migrate import MigrateSchema
from cloudapi.services import addresses, hosts, outbox, provision, reservations
from cloudapi.services.instances import get

NO_PENDING = "This Linode has no pending migration"
NO_UPGRADE = "No free upgrade is available for this Linode"
# Who a migration an operator starts is shown as, in the owner's events.
OPERATOR = Principal(0, None, "linode", "", (), (), frozenset(), False)


class Drained(NamedTuple):
    """What a drain did: instances now migrating, those with no room elsewhere, and those
    busy with another action (they move when drained again)."""

    migrating: list
    no_room: list
    busy: list


def migrate(database, snapshot, principal, instance_id, body):
    """A customer begins the pending migration of their instance (its host is draining)."""
    data = load(MigrateSchema(), body)
    if data.get("upgrade"):
        raise Invalid.field("upgrade", NO_UPGRADE)
    if data.get("placement_group"):
        raise Invalid.field("placement_group.id", "Placement Group not found")

    def begin(session):
        instance = get(session, principal.account_id, instance_id, lock=True)
        target = data.get("region") or instance.region_id
        lifecycle.next_status("migrate", instance.status)  # busy first, as for any action
        if target != instance.region_id:
            region = session.get(Region, target)
            if region is None or "Linodes" not in (region.capabilities or ()):
                raise Invalid.field("region", REGION_NOT_FOUND)
        else:
            host = session.get(Host, instance.host_id) if instance.host_id else None
            if host is None or host.status != "draining":
                raise Invalid.reason(NO_PENDING)
        _schedule(session, snapshot, instance, principal, data["type"], target)

    try:
        _retrying(database, begin)
    except placement.NoCapacity as exc:
        where = "this region" if data.get("region") is None else data["region"]
        raise Invalid.reason(f"No other host in {where} has room: {exc.reason}") from None


def drain(database, snapshot, hostname):
    """Mark the host draining, then migrate each of its GPU instances, each on its own."""
    host = hosts.change_status(database, hostname, "draining")
    on_host = (Instance.host_id == host.id, Instance.deleted_at.is_(None))
    with database.reader() as session:
        ids = list(session.scalars(select(Instance.id).where(*on_host).order_by(Instance.id)))
    done = Drained([], [], [])

    def begin(session, instance_id):
        instance = session.get(Instance, instance_id, with_for_update=True)
        if instance is None or instance.host_id != host.id or instance.deleted_at:
            return False  # deleted or moved meanwhile
        _schedule(session, snapshot, instance, OPERATOR, "cold")
        return True

    for instance_id in ids:
        try:
            if _retrying(database, lambda session, i=instance_id: begin(session, i)):
                done.migrating.append(instance_id)
        except lifecycle.TransitionRefused:
            done.busy.append(instance_id)
        except placement.NoCapacity:
            done.no_room.append(instance_id)
    return done


def _retrying(database, write, attempts=10):
    """`write(session)` in a transaction of its own, again from the start when another
    transaction took the capacity it chose (reservations.Conflict)."""
    for _attempt in range(attempts):
        try:
            with database.transaction() as session:
                return write(session)
        except reservations.Conflict:
            continue
    raise placement.NoCapacity("capacity is busy in this region; try again")


def _schedule(session, snapshot, instance, actor, kind, region_id=None):
    """Reserve on another host (the old reservation stays), write the job and the event.

    With `region_id` other than the instance's, that data center's: a GPU plan reserved on
    one of its hosts, the instance's kinds of address taken there, the job sent there."""
    region_id = region_id or instance.region_id
    cross = region_id != instance.region_id
    plan = snapshot.types[instance.type_id]
    old = session.get(Host, instance.host_id) if instance.host_id else None
    from_queue = outbox.queue_of(session, instance)
    was = instance.status
    instance.status = lifecycle.next_status("migrate", instance.status)
    new, placed = None, None
    if plan.gpus:
        avoid = old.id if old is not None and not cross else None
        chosen, new = reservations.reserve(session, instance, plan, instance.numa_affinity,
                                           avoid_host_id=avoid, region_id=region_id)  # fmt: skip
        placed = reservations.describe(session, chosen, new)
    payload = {
        "region": region_id, "label": instance.label, "was": was,
        "booted": was == "running", "migration_type": kind, "from_host": from_queue,
        "from_host_id": old.id if old else None, "from_host_uuid": old.uuid if old else None,
        "to_host_id": new.id if new else None, "specs": provision.specs(plan),
        "placement": placed,
    }  # fmt: skip
    if not cross:
        outbox.record(session, instance, "migrate", actor, payload)
        return
    addresses.take_in(session, instance, region_id)
    payload.update(from_region=instance.region_id, to_region=region_id)
    queue = new.hostname if new else f"pool.{region_id}"
    outbox.record(session, instance, "migrate", actor, payload, queue=queue,
                  announce="linode_migrate_datacenter_create")  # fmt: skip
