"""The relay: publish unsent jobs from the outbox (the ``jobs`` table) to the broker.

Delivery is at least once. A job is marked sent (``sent_at``, ``attempts += 1``) in the
transaction that selected it, after the broker confirmed every message of the batch; a
crash between the confirm and the commit publishes the job again later, and agents
dedupe on ``job_id``.

Jobs are selected oldest first (``created``, ``id``) with ``FOR UPDATE SKIP LOCKED``, so
several relays on PostgreSQL never send one job twice. SQLite ignores SKIP LOCKED (and
``Database.transaction`` takes SQLite's write lock anyway): run one relay there.

Order: ``jobs.created`` keeps microseconds (``precise_utcnow``), so the jobs of one
instance go out in the order they were written, even a create and a delete within one
second. Several relays (PostgreSQL) can still interleave their batches.

When the broker is unreachable, ``run_once`` logs one line, leaves the jobs unsent and
returns 0; ``run_forever`` then waits, doubling the pause up to ``MAX_BACKOFF``, and tries
again. The API does not depend on the relay: it keeps writing jobs meanwhile.

Each message carries its job's ``request_id`` (the trace id, cloudapi/tracing.py), and
each confirmed send is logged with it, so ``cloudapi jobs trace`` shows the send.
"""

import json
import logging
import signal
import threading

from amqp.exceptions import MessageNacked
from sqlalchemy import select

from cloudapi.db.base import utcnow
from cloudapi.db.jobs import Job
from cloudapi.jobs import broker
from cloudapi.observability import metrics

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


class Relay:
    """Moves jobs from the database to the broker.

    ``database`` is a :class:`cloudapi.db.Database`; ``broker_url`` a kombu URL (see
    :mod:`cloudapi.jobs.broker`); ``batch`` the most jobs one transaction sends.
    ``after_publish(jobs)``, if given, is called after a batch is published and confirmed
    and before it is marked sent (tests raise from it to simulate a crash there).
    """

    def __init__(self, database, broker_url, batch=100, after_publish=None):
        self.database = database
        self.broker_url = broker_url
        self.batch = batch
        self.after_publish = after_publish
        self.broker_ok = True
        self._conn = None
        self._channel = None
        self._producer = None
        self._declared = set()
        probe = broker.connection(broker_url)
        self._errors = (
            *probe.connection_errors, *probe.channel_errors, MessageNacked, OSError,
        )  # fmt: skip
        probe.release()

    # -- one pass ------------------------------------------------------------------------

    def run_once(self):
        """Send up to ``batch`` unsent jobs, oldest first; return how many were sent.

        When the broker cannot be reached, logs one line and returns 0: the jobs stay
        unsent. When it fails mid-batch, the jobs whose publish was confirmed are marked
        sent (and counted), the rest stay unsent. Any other error (the database,
        ``after_publish``) propagates, and the transaction is rolled back: nothing of the
        batch is marked.
        """
        if not self._pending():
            self.broker_ok = True
            return 0
        try:
            # Connect before taking row locks (on SQLite: the database's write lock).
            producer = self._get_producer()
        except self._errors as exc:
            return self._broker_down(exc, 0, None)
        with self.database.transaction() as session:
            jobs = session.scalars(
                select(Job)
                .where(Job.sent_at.is_(None), Job.host.is_not(None))
                .order_by(Job.created, Job.id)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            ).all()
            published = []
            try:
                for job in jobs:
                    self._publish(producer, job)
                    published.append(job)
            except self._errors as exc:
                self._mark(published)
                return self._broker_down(exc, len(published), len(jobs))
            if self.after_publish is not None and jobs:
                self.after_publish(jobs)
            self._mark(jobs)
            self.broker_ok = True
            return len(jobs)

    def _pending(self):
        with self.database.reader() as session:
            query = select(Job.id).where(Job.sent_at.is_(None), Job.host.is_not(None)).limit(1)
            return session.scalar(query) is not None

    def _broker_down(self, exc, sent, selected):
        self.broker_ok = False
        self._disconnect()
        where = "" if selected is None else f"; {sent} of {selected} jobs sent"
        log.warning(
            "relay: broker unavailable (%s: %s)%s; retrying later", type(exc).__name__, exc, where
        )
        return sent

    @staticmethod
    def _mark(jobs):
        now = utcnow()
        for job in jobs:
            job.sent_at = now
            job.attempts = (job.attempts or 0) + 1
        metrics.count_sent(jobs)  # confirmed by the broker: cloudapi_jobs_sent_total

    def _publish(self, producer, job):
        if job.host not in self._declared:
            broker.declare(self._channel, job.host, self.broker_url)
            self._declared.add(job.host)
        producer.publish(
            message_body(job),
            exchange=broker.EXCHANGE,
            routing_key=broker.routing_key(job.host),
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            message_id=job.id,
            retry=False,
            timeout=broker.PUBLISH_TIMEOUT,
            confirm_timeout=broker.PUBLISH_TIMEOUT,
        )
        # Confirmed by now: the relay's step in the job's trace (cloudapi/tracing.py).
        trace = {"request_id": job.request_id, "job_id": job.id, "instance_id": job.instance_id,
                 "outcome": "sent", "attempt": (job.attempts or 0) + 1}  # fmt: skip
        log.info("relay: sent job %s (%s) to %s", job.id, job.action, job.host, extra=trace)

    # -- the connection ------------------------------------------------------------------

    def _get_producer(self):
        if self._producer is None:
            conn = broker.connection(self.broker_url)
            try:
                conn.connect()
                self._channel = conn.channel()
                broker.EXCHANGE.bind(self._channel).declare()
            except BaseException:
                conn.release()
                self._channel = None
                raise
            self._conn = conn
            self._producer = conn.Producer(self._channel)
        return self._producer

    def _disconnect(self):
        conn, self._conn, self._channel, self._producer = self._conn, None, None, None
        self._declared.clear()
        if conn is not None:
            try:
                conn.release()
            except Exception:
                log.debug("relay: error closing the broker connection", exc_info=True)

    def close(self):
        self._disconnect()

    # -- the loop ------------------------------------------------------------------------

    def run_forever(self, poll=0.5, stop_event=None):
        """Relay until ``stop_event`` is set: poll every ``poll`` s, back off when the broker
        is down. A full batch is followed at once by the next one."""
        stop = stop_event or threading.Event()
        backoff = poll
        log.info("relay: sending jobs to %s", _safe_url(self.broker_url))
        try:
            while not stop.is_set():
                try:
                    sent = self.run_once()
                except Exception:
                    log.exception("relay: pass failed")
                    sent, self.broker_ok = 0, False
                if not self.broker_ok:
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                backoff = poll
                if sent < self.batch:
                    stop.wait(poll)
        finally:
            self.close()


def run_relay(database_url, broker_url, poll=0.5, batch=100, stop_event=None):
    """Run a relay from ``database_url`` to ``broker_url`` until SIGTERM/SIGINT (or
    ``stop_event``); blocks. On SQLite run exactly one."""
    from cloudapi.db import Database

    stop = stop_event or threading.Event()
    if stop_event is None and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    database = Database(database_url)
    try:
        Relay(database, broker_url, batch=batch).run_forever(poll=poll, stop_event=stop)
    finally:
        database.dispose()


def message_body(job):
    """The message of one job (docs/jobs.md), as a JSON string; `request_id` (the trace
    id) only for a job that has one (one written by the CLI has none)."""
    trace = {"request_id": job.request_id} if job.request_id else {}
    return json.dumps(
        {
            "job_id": job.id,
            "action": job.action,
            "instance_id": job.instance_id,
            "host": job.host,
            "payload": job.payload or {},
            **trace,
        }
    )


def _safe_url(url):
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url
