"""The end of a job that moved an instance between hosts: a resize or a migration.

A migration holds its old host's share and its new host's until the new host's agent
reports (services/migrations.py): finished, the old share is given back; failed, the new
share is, and the instance is where it was, in the status it had. A migration to another
data center settles its region and its addresses the same way. Either job, when it
finished on a host other than the one the instance left, sends that host an `undefine`
job (no event: it is housekeeping), so no stale domain stays behind.
"""

import uuid

from sqlalchemy import select

from cloudapi.db.jobs import Job
from cloudapi.services import addresses, reservations

MOVES = ("resize", "migrate")


def on_end(session, job, instance, ok):
    """Settle a move's reservations and leave-behinds; the status to end in, or None."""
    payload = job.payload
    if job.action == "migrate":
        keep, drop = (payload["to_host_id"], payload["from_host_id"])
        if not ok:
            keep, drop = drop, keep
        if drop is not None:
            reservations.release(session, instance.id, host_id=drop)
        instance.host_id = keep
        if "to_region" in payload:  # another data center: one set of addresses goes
            instance.region_id = payload["to_region" if ok else "from_region"]
            addresses.keep_only(session, instance, instance.region_id)
        if not ok:
            instance.host_uuid = payload["from_host_uuid"]
            return payload["was"]
    if ok and payload.get("from_host") not in (None, job.host):
        _undefine(session, instance, payload["from_host"])
    return None


def on_delete(session, instance, delete_queue):
    """A delete while a migration runs: the delete job goes to `delete_queue`, and each
    other side of the migration (the host it leaves, the one it goes to) undefines its
    copy, after the migration's own job there (an agent runs its queue in order)."""
    moving = session.scalars(select(Job).where(
        Job.instance_id == instance.id, Job.action == "migrate",
        Job.unfinished()))  # fmt: skip
    for job in moving:
        for queue in {job.host, job.payload.get("from_host")} - {delete_queue, None}:
            _undefine(session, instance, queue)


def _undefine(session, instance, queue):
    session.add(Job(id=str(uuid.uuid4()), instance_id=instance.id, action="undefine",
                    host=queue, payload={"instance_id": instance.id}))  # fmt: skip
