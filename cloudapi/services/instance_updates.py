"""PUT /linode/instances/{id}: the writable properties change, read-only ones may not.

The official clients send more than they change: linode_api4's `save()` PUTs every
mutable property it knows plus `backups: {enabled, schedule}`, and a generic client
PUTs back the whole GET answer. The schema compares each read-only value with the
Linode as shown now (`view`, the caller's renderer), in the same transaction, on the
locked row; one that differs is a 400 naming it, and nothing is written.
"""

from cloudapi.db.base import utcnow
from cloudapi.db.instances import InstanceTag
from cloudapi.schemas import load
from cloudapi.schemas.linodes import LinodeUpdateSchema
from cloudapi.services import instances

WRITABLE = ("label", "group", "watchdog_enabled", "maintenance_policy")
# Values of backups.schedule that choose nothing: what is stored stays.
UNCHOSEN = (None, "Scheduling")


def update(database, principal, instance_id, body, view):
    """Apply a PUT body; `view(instance)` is the Linode as a GET would show it."""
    with database.transaction() as session:
        instance = instances.get(session, principal.account_id, instance_id, lock=True)
        schema = LinodeUpdateSchema(
            label_taken=lambda label: instances.label_taken(
                session, principal.account_id, label, but=instance.id
            ),
            current=view(instance),
        )
        data = load(schema, body)
        for name in WRITABLE:
            if name in data:
                setattr(instance, name, data[name])
        if "alerts" in data:
            instance.alerts = {**instance.alerts, **data["alerts"]}
        if "tags" in data:
            instance.tags = [InstanceTag(tag=t) for t in sorted(set(data["tags"]))]
        _schedule(instance, (data.get("backups") or {}).get("schedule") or {})
        instance.updated = utcnow()
        instances.guard_unique_label(session)
    return instance


def _schedule(instance, schedule):
    """Store the backups day and window chosen; one left out or unchosen is kept."""
    if schedule.get("day") not in UNCHOSEN:
        instance.backup_day = schedule["day"]
    if schedule.get("window") not in UNCHOSEN:
        instance.backup_window = schedule["window"]
