"""The end of a job that moved an instance between hosts: a resize or a migration.

A migration holds its old host's share and its new host's until the new host's agent
reports (services/migrations.py): finished, the old share is given back; failed, the new
share is, and the instance is where it was, in the status it had. Either job, when it
finished on a host other than the one the instance left, sends that host an `undefine`
job (no event: it is housekeeping), so no stale domain stays behind.
"""

import uuid

from cloudapi.db.jobs import Job
from cloudapi.services import reservations

MOVES = ("resize", "migrate")


def on_end(session, job, instance, ok):
    """Settle a move's reservations and leave-behinds; the status to end in, or None."""
    payload = job.payload
    if job.action == "migrate":
        keep, drop = (payload["to_host_id"], payload["from_host_id"])
        if not ok:
            keep, drop = drop, keep
        reservations.release(session, instance.id, host_id=drop)
        instance.host_id = keep
        if not ok:
            instance.host_uuid = payload["from_host_uuid"]
            return payload["was"]
    if ok and payload.get("from_host") not in (None, job.host):
        leave = {"instance_id": instance.id}
        session.add(Job(id=str(uuid.uuid4()), instance_id=instance.id, action="undefine",
                        host=payload["from_host"], payload=leave))  # fmt: skip
    return None
