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
instance on a draining host has one. Cross data center migrations are not offered yet.
"""

from typing import NamedTuple

from sqlalchemy import select

from cloudapi.db.instances import Instance
from cloudapi.db.inventory import Host
from cloudapi.domain import lifecycle, placement
from cloudapi.errors import Invalid
from cloudapi.principal import Principal
from cloudapi.schemas import load
from cloudapi.schemas.migrate import MigrateSchema
from cloudapi.services import hosts, outbox, provision, reservations
from cloudapi.services.instances import get

NO_PENDING = "This Linode has no pending migration"
NO_CROSS_DC = "Cross data center migrations are not available yet"
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
        if data.get("region") not in (None, instance.region_id):
            raise Invalid.field("region", NO_CROSS_DC)
        lifecycle.next_status("migrate", instance.status)  # busy first, as for any action
        host = session.get(Host, instance.host_id) if instance.host_id else None
        if host is None or host.status != "draining":
            raise Invalid.reason(NO_PENDING)
        _schedule(session, snapshot, instance, principal, data["type"])

    try:
        _retrying(database, begin)
    except placement.NoCapacity as exc:
        raise Invalid.reason(f"No other host in this region has room: {exc.reason}") from None


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


def _schedule(session, snapshot, instance, actor, kind):
    """Reserve on another host (the old reservation stays), write the job and the event."""
    plan = snapshot.types[instance.type_id]
    old = session.get(Host, instance.host_id)
    was = instance.status
    instance.status = lifecycle.next_status("migrate", instance.status)
    affinity = instance.numa_affinity
    chosen, new = reservations.reserve(session, instance, plan, affinity, avoid_host_id=old.id)
    payload = {
        "region": instance.region_id, "label": instance.label, "was": was,
        "booted": was == "running", "migration_type": kind,
        "from_host": old.hostname, "from_host_id": old.id, "from_host_uuid": old.uuid,
        "to_host_id": new.id, "specs": provision.specs(plan),
        "placement": reservations.describe(session, chosen, new),
    }  # fmt: skip
    outbox.record(session, instance, "migrate", actor, payload)
