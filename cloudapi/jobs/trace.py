"""`cloudapi jobs trace REQUEST_ID`: a request's whole path, from the database and the logs.

The database says what the request left behind: its jobs (`jobs.request_id`), when each
was written and sent, how often, the state it reached, and its events (their state now,
and when they ended). The logs, when given (JSON lines: cloudapi/tracing.py), say what
happened on the way, in time order: the request's access line, the relay's send, the
agent's steps and reports, and the API's lines for those reports (the agent sends them
with the same id). A line belongs to the trace when it names the request id or one of
its jobs.
"""

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from cloudapi.db.jobs import ENDED, Event, Job

# Fields shown after a log line's message, when it has them (messages name their job).
SHOWN = ("route", "account_id", "status", "duration_ms", "step", "outcome", "report", "state",
         "percent_complete", "instance_status")  # fmt: skip


def read(session, request_id):
    """The request's jobs, oldest first, each a dict with its events."""
    jobs = session.scalars(
        select(Job).where(Job.request_id == request_id).order_by(Job.created, Job.id)
    ).all()
    return [_job(session, job) for job in jobs]


def _job(session, job):
    events = session.scalars(select(Event).where(Event.job_id == job.id).order_by(Event.id))
    events = [_event(e) for e in events]
    ends = [e["ended"] for e in events if e["ended"] is not None]
    return {
        "id": job.id,
        "action": job.action,
        "instance_id": job.instance_id,
        "host": job.host,
        "state": job.state,
        "attempts": job.attempts or 0,
        "created": _time(job.created),
        "sent": _time(job.sent_at),
        "finished": max(ends) if ends and job.state in ENDED else None,
        "events": events,
    }


def _event(event):
    ended = None
    if event.duration is not None:
        ended = _time(event.created + timedelta(seconds=event.duration))
    return {
        "id": event.id,
        "action": event.action,
        "status": event.status,
        "percent_complete": event.percent_complete,
        "created": _time(event.created),
        "ended": ended,
        "message": event.message,
    }


def _time(moment):
    return None if moment is None else moment.isoformat(sep="T")


def log_lines(path, request_id, job_ids=()):
    """The JSON log lines under `path` (a file, or every file in a folder, recursively)
    that name `request_id` or one of `job_ids`, in time order. Other lines (not JSON,
    another request's) are skipped."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    jobs = set(job_ids)
    found = []
    for file in files:
        with open(file, encoding="utf-8", errors="replace") as src:
            for text in src:
                line = _parse(text)
                if line is not None and (line.get("request_id") == request_id
                                         or line.get("job_id") in jobs):  # fmt: skip
                    found.append(line)
    return sorted(found, key=lambda line: str(line.get("ts", "")))


def _parse(text):
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        line = json.loads(text)
    except ValueError:
        return None
    return line if isinstance(line, dict) else None


def render(request_id, jobs, lines=None):
    """The trace as text lines: the request, its jobs and their events, then the logs."""
    out = [f"request {request_id}: {len(jobs)} job{'' if len(jobs) == 1 else 's'}"]
    for job in jobs:
        sends = f"{job['attempts']} send{'' if job['attempts'] == 1 else 's'}"
        out.append(f"  job {job['id']} {job['action']} linode {job['instance_id']} "
                   f"on {job['host']}: {job['state']}, {sends}")  # fmt: skip
        out.append(f"    created {job['created']}  sent {job['sent'] or '-'}  "
                   f"finished {job['finished'] or '-'}")  # fmt: skip
        for event in job["events"]:
            percent = event["percent_complete"]
            out.append(f"    event {event['id']} {event['action']}: {event['status']}"
                       f"{'' if percent is None else f' {percent}%'}, created "
                       f"{event['created']}, ended {event['ended'] or '-'}"
                       f"{'' if not event['message'] else ': ' + event['message']}")  # fmt: skip
    if lines is not None:
        out.append(f"log: {len(lines)} line{'' if len(lines) == 1 else 's'}")
        out.extend(f"  {_log_line(line)}" for line in lines)
    return out


def _log_line(line):
    where = line.get("component") or line.get("logger") or "-"
    if line.get("host"):
        where = f"{where}@{line['host']}"
    shown = " ".join(f"{k}={line[k]}" for k in SHOWN if line.get(k) is not None)
    text = f"{line.get('ts', '-')} {where:<6} {line.get('level', '-'):<7} {line.get('msg', '')}"
    return f"{text}  [{shown}]" if shown else text
