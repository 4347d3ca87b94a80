"""Host agents' reports: a job's progress moves its event and its instance's status."""

from cloudapi.db.base import utcnow
from cloudapi.db.instances import Instance
from cloudapi.db.jobs import ENDED, Event, Job
from cloudapi.domain.lifecycle import FAILED, FINISHED, INTERMEDIATE
from cloudapi.errors import Forbidden, Invalid, NotFound
from cloudapi.schemas import load
from cloudapi.schemas.jobs import ProgressSchema
from cloudapi.services import moves, outbox, reservations, storage


def progress(database, host, job_id, report):
    """Apply one report from `host` about `job_id`. Reports after the end change nothing."""
    data = load(ProgressSchema(), report)
    with database.transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound()
        if job.host != host:
            raise Forbidden.reason("This job belongs to another host")
        if job.state in ENDED:
            return job.state
        if job.action not in INTERMEDIATE:  # not a lifecycle job: no instance status moves
            return _side_job(session, job, data)
        event = outbox.event_of(session, job)
        instance = session.get(Instance, job.instance_id)
        live = instance.deleted_at is None
        if data["status"] == "started":
            _started(job, event, instance if live else None, data)
        else:
            _ended(session, job, event, instance if live else None, data)
        if live:
            instance.updated = utcnow()
        return job.state


def _side_job(session, job, data):
    """A job that leaves the instance's status alone (`firewall_apply`, disk and config
    jobs): move the job and its event, when it has one (a firewall change's own event is
    a notification)."""
    event = session.query(Event).filter(Event.job_id == job.id).one_or_none()
    running = data["status"] == "started"
    job.state = "running" if running else ("done" if data["status"] == "finished" else "error")
    if event is not None:
        event.status = {"running": "started", "done": "finished", "error": "failed"}[job.state]
        if not running:
            event.duration = float((utcnow() - event.created).total_seconds())
            event.percent_complete = 100 if job.state == "done" else event.percent_complete
        if job.state == "error":
            event.message = data.get("message") or f"{job.action} failed"
    if not running:  # a disk job's end moves its disk (ready, gone, or its old size back)
        storage.on_job_end(session, job, job.state == "done")
    return job.state


def _started(job, event, instance, data):
    job.state = "running"
    event.status = "started"
    event.percent_complete = max(event.percent_complete or 0, data.get("percent_complete", 0))
    wanted = data.get("instance_status")
    if wanted is not None and wanted not in INTERMEDIATE[job.action]:
        raise Invalid.field("instance_status", f"Not a status a {job.action} passes through")
    if instance is not None and wanted is not None:
        instance.status = wanted


def _ended(session, job, event, instance, data):
    ok = data["status"] == "finished"
    job.state = "done" if ok else "error"
    storage.forget_secrets(job)  # a rebuild's root password, say: the agent has it now
    event.status = "finished" if ok else "failed"
    event.duration = float((utcnow() - event.created).total_seconds())
    if ok:
        event.percent_complete = 100
    else:
        event.message = data.get("message") or f"{job.action} failed"
    if instance is None:
        return
    if ok:
        booted = job.payload.get("booted", True)
        final = FINISHED.get(job.action) or ("running" if booted else "offline")
    else:
        final = FAILED[job.action]
        made_here = job.action == "create" or (
            job.action == "clone" and job.payload.get("new_target")
        )
        if made_here:  # a failed create (or clone into a new Linode) gives its GPUs back
            reservations.release(session, instance.id)
            instance.host_id = None
    if job.action in moves.MOVES:  # settle what a move held on two hosts
        final = moves.on_end(session, job, instance, ok) or final
    instance.status = final
