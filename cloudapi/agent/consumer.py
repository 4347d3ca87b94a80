"""The host agent's consumer: take jobs from ``host.<host>``, run them, report, then ack.

Delivery is at least once (the relay can publish a job twice; a message whose agent
died before acking is delivered again), so the agent:

- takes one message at a time (prefetch 1) and acks it only after the job has run, its
  outcome is on disk and the final report reached the API;
- remembers finished jobs in ``<state_dir>/done-jobs`` (append-only, one JSON line per
  job: id, outcome, message); a job seen before is not run again, its outcome is
  reported again (reports are idempotent) and the message acked;
- relies on an idempotent driver for a job killed half way: it runs again from the start.

A message that is not a job (not JSON, a field missing, an unknown action) is rejected
without requeue: RabbitMQ dead-letters it to ``cloudapi.jobs.dead``; the embedded
transport drops it. Either way a line is logged and the agent goes on.

A job the driver fails is reported ``failed`` with the error and acked. A final report
the API cannot take (down, or refusing the token) keeps the message: it is requeued after
a pause that doubles up to ``MAX_BACKOFF`` seconds.

Each job runs with its trace id (the message's ``request_id``), job id and instance id
bound (cloudapi/tracing.py): every line logged and every report sent meanwhile carry
them, each driver step is logged, and the domain's metadata names the job and request.
"""

import json
import logging
import threading
from pathlib import Path

from kombu import Consumer

from cloudapi import tracing
from cloudapi.agent.done_jobs import DoneJobs
from cloudapi.agent.keys import NoKeys
from cloudapi.jobs import broker

log = logging.getLogger(__name__)

# Disk and config jobs: the driver's `storage()` runs them (services/disks.py, configs.py).
STORAGE_ACTIONS = ("disk_create", "disk_update", "disk_delete", "disk_resize", "disk_duplicate",
                   "password_reset", "config_create", "config_update", "config_delete")  # fmt: skip
# The backup service has no snapshots to schedule yet: its jobs only confirm the change.
BACKUP_ACTIONS = ("backups_enable", "backups_cancel")
ACTIONS = ("create", "boot", "reboot", "shutdown", "delete", "firewall_apply", "resize",
           "migrate", "undefine", "rebuild", "clone", *STORAGE_ACTIONS,
           *BACKUP_ACTIONS)  # fmt: skip
MAX_BACKOFF = 60.0
FIELDS = {"job_id": str, "action": str, "instance_id": int, "payload": dict}


class PoisonMessage(ValueError):
    """A message that is not a job this agent can run."""


def parse(body):
    """The job in a message body (bytes or str), or raise :class:`PoisonMessage`."""
    try:
        if isinstance(body, bytes | bytearray | memoryview):
            body = bytes(body).decode("utf-8")
        job = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PoisonMessage(f"body is not JSON: {exc}") from None
    if not isinstance(job, dict):
        raise PoisonMessage("body is not a JSON object")
    for name, kind in FIELDS.items():
        if name not in job:
            raise PoisonMessage(f"missing field {name!r}")
        if not isinstance(job[name], kind) or isinstance(job[name], bool):
            raise PoisonMessage(f"field {name!r} is not a {kind.__name__}")
    if not job["job_id"]:
        raise PoisonMessage("empty job_id")
    if job["action"] not in ACTIONS:
        raise PoisonMessage(f"unknown action {job['action']!r}")
    return job


def _default_render(payload):
    from cloudapi.agent.domain_xml import render

    return render(payload)


class Agent:
    """Consumes ``host.<host>`` on ``broker_url`` and runs each job with ``driver``.

    ``reporter`` has ``report(job_id, status, percent_complete=None, instance_status=None,
    message=None)`` (see :class:`cloudapi.agent.reporter.Reporter`); ``driver`` follows
    :class:`cloudapi.agent.driver.Driver`; ``state_dir`` holds ``done-jobs``;
    ``render_xml(payload) -> str`` builds the domain XML of a create (default:
    :func:`cloudapi.agent.domain_xml.render`, imported when first needed).
    """

    def __init__(self, host, broker_url, reporter, driver, state_dir, render_xml=None,
                 keyring=None):  # fmt: skip
        self.host = host
        self.keyring = keyring or NoKeys()  # opens the sealed secrets (agent/keys.py)
        self.broker_url = broker_url
        self.reporter = reporter
        self.driver = driver
        self.state_dir = Path(state_dir)
        self.render_xml = render_xml or _default_render
        self.done = DoneJobs(self.state_dir / "done-jobs")
        self._stop = threading.Event()
        self._report_backoff = 0.5
        self.connected = threading.Event()

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop_event=None):
        """Consume until ``stop_event`` is set; reconnect (with a growing pause) on errors."""
        self._stop = stop = stop_event or threading.Event()
        backoff = 0.5
        while not stop.is_set():
            conn = None
            try:
                conn = broker.connection(self.broker_url)
                conn.connect()
                channel = conn.channel()
                broker.declare(channel, self.host, self.broker_url)
                queue = broker.host_queue(self.host)
                with Consumer(
                    channel, [queue], on_message=self.handle, prefetch_count=1, no_ack=False
                ):
                    log.info("agent %s: consuming %s", self.host, queue.name)
                    self.connected.set()
                    backoff = 0.5
                    while not stop.is_set():
                        try:
                            conn.drain_events(timeout=1)
                        except TimeoutError:
                            continue
            except Exception as exc:
                self.connected.clear()
                if stop.is_set():
                    break
                known = conn is not None and isinstance(exc, (*conn.connection_errors, OSError))
                log.log(
                    logging.WARNING if known else logging.ERROR,
                    "agent %s: %s (%s: %s); reconnecting in %.1f s",
                    self.host, "broker connection lost" if known else "unexpected error",
                    type(exc).__name__, exc, backoff, exc_info=not known,
                )  # fmt: skip
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            finally:
                self.connected.clear()
                try:
                    if conn is not None:
                        conn.release()
                except Exception:
                    log.debug("agent: error closing the connection", exc_info=True)

    # -- one message ---------------------------------------------------------------------

    def handle(self, message):
        """Run the job in ``message`` (once), report it, then ack; reject poison."""
        try:
            job = parse(message.body)
        except PoisonMessage as exc:
            log.error(
                "agent %s: rejecting message %s: %s",
                self.host, message.properties.get("message_id"), exc,
            )  # fmt: skip
            message.reject(requeue=False)
            return
        # The job's trace id (its request's) is on every line logged and report sent now.
        with tracing.bound(request_id=tracing.valid(job.get("request_id")),
                           job_id=job["job_id"], instance_id=job["instance_id"]):  # fmt: skip
            self._handle(message, job)

    def _handle(self, message, job):
        job_id = job["job_id"]
        outcome = self.done.get(job_id)
        if outcome is None:
            if message.delivery_info.get("redelivered"):
                log.info("agent %s: job %s redelivered; running it", self.host, job_id)
            outcome = self.execute(job)
            self.done.add(job_id, *outcome)
        else:
            log.info("agent %s: job %s seen before (%s); not run again", self.host, job_id,
                     outcome[0])  # fmt: skip
        status, text = outcome
        try:
            self.reporter.report(job_id, status, message=text)
        except Exception as exc:
            log.warning(
                "agent %s: could not report job %s %s (%s); keeping it for %.1f s",
                self.host, job_id, status, exc, self._report_backoff,
            )  # fmt: skip
            self._stop.wait(self._report_backoff)
            self._report_backoff = min(self._report_backoff * 2, MAX_BACKOFF)
            message.requeue()
            return
        self._report_backoff = 0.5
        message.ack()

    def execute(self, job):
        """Run one job; return ``("finished", None)`` or ``("failed", why)``."""
        job_id, action, instance_id = job["job_id"], job["action"], job["instance_id"]
        log.info("agent %s: job %s: %s linode %s", self.host, job_id, action, instance_id)
        try:
            job = {**job, "payload": self.keyring.open(job["payload"])}  # in memory only
            if action == "create":
                self._create(job_id, instance_id, job["payload"])
            elif action == "boot":
                self.driver.start(instance_id)
            elif action == "reboot":
                self.driver.reboot(instance_id)
            elif action == "shutdown":
                self.driver.stop(instance_id)
            elif action == "delete":
                self.driver.destroy(instance_id)
            elif action == "firewall_apply":
                self.driver.apply_firewall(instance_id, job["payload"].get("rules"))
            elif action in ("resize", "migrate"):
                self._resize(job_id, instance_id, job["payload"], action)
            elif action == "undefine":  # the instance moved to another host
                self.driver.destroy(instance_id)
            elif action == "rebuild":  # new disks, same domain: stop, define, boot if booted
                self._resize(job_id, instance_id, job["payload"], action)
            elif action == "clone":  # the target's domain; its disks copied, left shut off
                self._create(job_id, instance_id, job["payload"])
            elif action in STORAGE_ACTIONS:
                self.driver.storage(action, instance_id, job["payload"])
        except Exception as exc:
            log.warning("agent %s: job %s failed: %s", self.host, job_id, exc,
                        extra={"outcome": "failed"})  # fmt: skip
            return "failed", str(exc) or type(exc).__name__
        log.info("agent %s: job %s finished", self.host, job_id, extra={"outcome": "finished"})
        return "finished", None

    def _step(self, job_id, step, call, *args):
        """One driver step of a job, logged first: the agent's steps in a trace."""
        log.info("agent %s: job %s: %s", self.host, job_id, step, extra={"step": step})
        return call(*args)

    def _render(self, job_id, payload):
        """The domain XML, its metadata naming the job and its request (domain_xml.py)."""
        ids = {"job_id": job_id, "request_id": tracing.request_id()}
        return self._step(job_id, "render", self.render_xml, {**payload, **ids})

    def _create(self, job_id, instance_id, payload):
        self._progress(job_id, percent_complete=10)
        # Its disks (and cloud-init seed), then its domain.
        self._step(job_id, "prepare", self.driver.prepare, instance_id, payload)
        xml = self._render(job_id, payload)
        self._step(job_id, "define", self.driver.define, instance_id, xml)
        if payload.get("booted", True) is False:
            return
        self._progress(job_id, percent_complete=50, instance_status="booting")
        self._step(job_id, "start", self.driver.start, instance_id)

    def _resize(self, job_id, instance_id, payload, action):
        """A resize or a migration arriving here: shut down, redefine with the payload's
        domain (hostdevs, numatune, vcpupin), boot again if it was running. On a new host
        there is nothing to stop; the old host undefines its copy when this has finished."""
        cold = action == "migrate" and payload.get("migration_type") == "cold"
        # A cold migration shows its instance offline while its disks are copied.
        self._progress(job_id, percent_complete=10, instance_status="offline" if cold else None)
        if self.driver.state(instance_id) == "running":
            self.driver.stop(instance_id)
        self.driver.transfer_disks(instance_id, payload)
        if action == "rebuild":  # a new root disk from the image, and a new seed
            self.driver.prepare(instance_id, payload, fresh=True)
        self._step(job_id, "define", self.driver.define, instance_id,
                   self._render(job_id, payload))  # fmt: skip
        if payload.get("booted"):
            self._progress(job_id, percent_complete=60, instance_status="booting")
            self._step(job_id, "start", self.driver.start, instance_id)

    def _progress(self, job_id, **fields):
        """An intermediate report: best effort (the final one is what must arrive)."""
        try:
            self.reporter.report(job_id, "started", **fields)
        except Exception as exc:
            log.warning("agent %s: progress of job %s not reported: %s", self.host, job_id, exc)
