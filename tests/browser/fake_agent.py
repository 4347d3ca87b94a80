"""A stand-in for the host agent: takes queued jobs from the outbox and reports them done.

It reads the jobs table directly (no broker, no relay) and reports over real HTTP to
`/internal/jobs/<id>/progress` with a host token per host, as the real agent does
(docs/jobs.md): `started` (creates pass through `booting`), then `finished`.
"""

import threading

import requests
from sqlalchemy import select

from cloudapi.db.jobs import Job
from cloudapi.services import tokens

PASSES_THROUGH = {"create": "booting", "boot": "booting", "reboot": "rebooting"}


class FakeAgent:
    def __init__(self, database, base_url, step_seconds=0.4, poll_seconds=0.1):
        self.database = database
        self.base_url = base_url
        self.step_seconds = step_seconds
        self.poll_seconds = poll_seconds
        self.done = []  # (job id, action, host)
        self.errors = []
        self._tokens = {}
        self._seen = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-agent", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def _token(self, host):
        if host not in self._tokens:
            with self.database.transaction() as session:
                self._tokens[host] = tokens.create(session, host=host, label="fake agent")
        return {"Authorization": f"Bearer {self._tokens[host]}"}

    def _queued(self):
        with self.database.reader() as session:
            rows = session.execute(
                select(Job.id, Job.action, Job.host)
                .where(Job.sent_at.is_(None), Job.state == "queued", Job.host.is_not(None))
                .order_by(Job.created)
            ).all()
        return [row for row in rows if row.id not in self._seen]

    def _report(self, job, **body):
        url = f"{self.base_url}/internal/jobs/{job.id}/progress"
        response = requests.post(url, json=body, headers=self._token(job.host), timeout=10)
        if response.status_code != 200:
            self.errors.append(f"{job.action} {job.id}: {response.status_code} {response.text}")
        return response

    def _run(self):
        while not self._stop.is_set():
            try:
                for job in self._queued():
                    self._seen.add(job.id)
                    started = {"status": "started", "percent_complete": 50}
                    if job.action in PASSES_THROUGH:
                        started["instance_status"] = PASSES_THROUGH[job.action]
                    self._report(job, **started)
                    self._stop.wait(self.step_seconds)
                    self._report(job, status="finished")
                    self.done.append((job.id, job.action, job.host))
            except Exception as exc:
                self.errors.append(repr(exc))
            self._stop.wait(self.poll_seconds)
