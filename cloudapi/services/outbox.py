"""The job outbox: a job for the instance's host agent and the event its owner sees.

Every state change of an instance writes both here, in the change's own transaction;
the relay (cloudapi/jobs/relay.py) later publishes the job, and the agent's reports move
the job and its event (services/jobs.py). docs/jobs.md has the protocol.
"""

import uuid

from cloudapi.db.inventory import Host
from cloudapi.db.jobs import Event, Job


def queue_of(session, instance):
    """The agent queue for an instance's jobs: its GPU host, or its region's shared pool."""
    if instance.host_id is not None:
        return session.get(Host, instance.host_id).hostname
    return f"pool.{instance.region_id}"


def record(session, instance, action, principal, payload=None, secondary=None, event=None):
    """Write the job `action` for the host agent and the event the customer sees.

    The event's action is Linode's name for it: `event`, else `linode_<action>`.
    `secondary` is the event's (type, id, label) second entity, e.g. a create's image.
    """
    second_type, second_id, second_label = secondary or (None, None, None)
    job = Job(
        id=str(uuid.uuid4()),
        instance_id=instance.id,
        action=action,
        host=queue_of(session, instance),
        payload={"instance_id": instance.id, "type": instance.type_id, **(payload or {})},
    )
    session.add(job)
    session.add(
        Event(
            account_id=instance.account_id,
            job=job,
            action=event or f"linode_{action}",
            entity_type="linode",
            entity_id=instance.id,
            entity_label=instance.label,
            secondary_entity_type=second_type,
            secondary_entity_id=second_id,
            secondary_entity_label=second_label,
            status="scheduled",
            percent_complete=0,
            username=principal.username,
        )
    )
    return job
