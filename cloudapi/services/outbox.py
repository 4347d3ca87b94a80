"""The job outbox: a job for the instance's host agent and the event its owner sees.

Every state change of an instance writes both here, in the change's own transaction;
the relay (cloudapi/jobs/relay.py) later publishes the job, and the agent's reports move
the job and its event (services/jobs.py). docs/jobs.md has the protocol.

Each job carries the trace id of the request that wrote it (`jobs.request_id`): the
column's default reads it from the context the handler bound (cloudapi/tracing.py), so
neither this module nor the other writers of jobs (firewall pushes, a move's `undefine`)
pass it along.
"""

import functools
import uuid

from sqlalchemy import bindparam, exists, insert, select

from cloudapi.db.adopted import adopt, columns_of, row_of
from cloudapi.db.inventory import Host
from cloudapi.db.jobs import Event, Job
from cloudapi.domain.lifecycle import BUSY, CUTS_IN, HOLDING, TransitionRefused
from cloudapi.services import sealing

# Linode's notices that an action was scheduled -> the event of the action itself.
ANNOUNCED = {
    "linode_resize_create": "linode_resize",
    "linode_migrate_datacenter_create": "linode_migrate_datacenter",
}


def queue_of(session, instance):
    """The agent queue for an instance's jobs: its GPU host, or its region's shared pool."""
    if instance.host_id is not None:
        return session.get(Host, instance.host_id).hostname
    return f"pool.{instance.region_id}"


def record(session, instance, action, principal, payload=None, secondary=None, *,
           event=None, announce=None, queue=None, entity=None):  # fmt: skip
    """Write the job `action` for the host agent and the event the customer sees.

    The event's action is Linode's name for it: `event`, else `linode_<action>`.
    `secondary` is the event's (type, id, label) second entity, e.g. a create's image.
    With `announce` (a key of ANNOUNCED), the event written now is that notice instead,
    and the job's own event follows when the agent starts it (event_of). `queue` sends
    the job elsewhere than the instance's queue (a migration to another data center).
    `entity` is the event's (id, label) Linode when not `instance` (a clone's source).
    """
    # A create's instance is new: it has no job that could hold it.
    if action not in CUTS_IN and action != "create" and _held(session, instance.id):
        raise TransitionRefused(BUSY)
    second_type, second_id, second_label = secondary or (None, None, None)
    host = queue or queue_of(session, instance)
    payload = {"instance_id": instance.id, "type": instance.type_id, **(payload or {})}
    # Secrets go sealed to the queue's agent, never in clear (services/sealing.py).
    job = row_of(Job, id=str(uuid.uuid4()), instance_id=instance.id, action=action, host=host,
                 payload=sealing.seal(session, host, payload))  # fmt: skip
    now = {"status": "scheduled", "percent_complete": 0, "action": event or f"linode_{action}"}
    if announce is not None:
        now = {"status": "notification", "percent_complete": 100, "action": announce}
    seen = row_of(
        Event,
        account_id=instance.account_id,
        job_id=job["id"],
        entity_type="linode",
        entity_id=entity[0] if entity else instance.id,
        entity_label=entity[1] if entity else instance.label,
        secondary_entity_type=second_type,
        secondary_entity_id=second_id,
        secondary_entity_label=second_label,
        username=principal.username,
        **now,
    )
    return _write(session, job, seen)


def _write(session, job, seen):
    """The job and its event: on PostgreSQL in one statement (the job's INSERT a CTE of
    the event's), after a flush of what they refer to; else as the ORM writes them."""
    if session.get_bind().dialect.name != "postgresql":
        written = Job(**job)
        session.add(written)
        session.add(Event(**{**seen, "job": written}))
        return written
    session.flush()  # the instance the job is for, when it is new or changed
    del seen["id"]
    params = {
        **{f"job_{k}": v for k, v in job.items()},
        **{f"event_{k}": v for k, v in seen.items()},
    }
    seen["id"] = session.execute(_job_and_event(), params).scalar_one()
    written = adopt(session, Job, job)
    adopt(session, Event, seen, job=written)
    return written


@functools.cache
def _job_and_event():
    """PostgreSQL's INSERT of a job and its event (built once: building it cost more than
    running it), parameters `job_<column>` and `event_<column>`, returning the event's id."""
    jobs, events = Job.__table__, Event.__table__
    job = insert(jobs).values({c.key: bindparam(f"job_{k}") for k, c in columns_of(Job)})
    event = {c.key: bindparam(f"event_{k}") for k, c in columns_of(Event) if k != "id"}
    return insert(events).values(event).returning(events.c.id).add_cte(job.cte("job"))


def event_of(session, job):
    """The job's own event, or None for a job without one (a leave-behind `undefine`).

    An announced job (record's `announce`) gets it now, at its first report, made from
    the notice: Linode's clients wait for a `linode_resize` event that appears after
    their request (linode_api4's EventPoller ignores the events there were before).
    """
    events = session.scalars(select(Event).where(Event.job_id == job.id).order_by(Event.id))
    events = list(events)
    own = [e for e in events if e.action not in ANNOUNCED]
    if own or not events:
        return own[0] if own else None
    notice = events[0]
    columns = ("account_id", "entity_type", "entity_id", "entity_label", "username",
               *(f"secondary_entity_{c}" for c in ("type", "id", "label")))  # fmt: skip
    made = Event(job=job, action=ANNOUNCED[notice.action], status="scheduled",
                 percent_complete=0, **{c: getattr(notice, c) for c in columns})  # fmt: skip
    session.add(made)
    return made


def _held(session, instance_id):
    """Whether a job that holds the instance until it ends (lifecycle.HOLDING) is running.

    The status alone does not always say so: a cold migration shows its instance
    `offline` while the disks are copied, and no other job may start then."""
    return session.scalar(select(exists().where(
        Job.instance_id == instance_id, Job.action.in_(HOLDING), Job.unfinished())))  # fmt: skip
