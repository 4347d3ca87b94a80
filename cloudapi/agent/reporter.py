"""Job progress, reported to the API: ``POST /internal/jobs/<job_id>/progress``.

The body is ``{"status": "started" | "finished" | "failed", "percent_complete": ...,
"instance_status": ..., "message": ...}`` (docs/jobs.md), sent with the host's token;
and the agent's public key at start: ``PUT /internal/agents/key``. A report about a job
goes with the job's trace id as its ``X-Request-Id``, so the API's lines for it (its
access line, the state it moved the job to) join the job's trace (cloudapi/tracing.py).
"""

import logging
import time

import requests

from cloudapi import tracing

log = logging.getLogger(__name__)


class ReportError(Exception):
    """A report could not be delivered; the agent keeps the job and tries again later."""


class Reporter:
    """Posts job progress to the API with a host token.

    Connection errors, timeouts and 5xx answers are retried ``retries`` times with a short
    pause, then raise :class:`ReportError`. 404 (no such job) and 409 (the API refuses the
    transition) are logged and dropped: retrying cannot help. Any other 4xx raises
    :class:`ReportError` (a bad token or body: a person must look).
    """

    def __init__(self, api_url, token, timeout=10, retries=3, pause=0.5):
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.pause = pause
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def report(self, job_id, status, percent_complete=None, instance_status=None, message=None):
        body = {"status": status}
        if percent_complete is not None:
            body["percent_complete"] = percent_complete
        if instance_status is not None:
            body["instance_status"] = instance_status
        if message is not None:
            body["message"] = message[:1024]
        what = f"report {status} for job {job_id}"
        url = f"{self.api_url}/internal/jobs/{job_id}/progress"
        answer = self._send("POST", url, body, what, dropped=(404, 409))
        if answer is not None:  # the job's state in the API now: a step of its trace
            state = _json(answer).get("state")
            log.info("reported job %s %s; the job is %s", job_id, status, state,
                     extra={"report": status, "state": state, "instance_status": instance_status,
                            "percent_complete": percent_complete})  # fmt: skip

    def register_key(self, public_key):
        """Register the agent's newest public key (base64): ``PUT /internal/agents/key``,
        so that its jobs' secrets are sealed to it (cloudapi/agent/keys.py). Retried as a
        report is; raises :class:`ReportError` when it could not be registered."""
        url = f"{self.api_url}/internal/agents/key"
        return self._send("PUT", url, {"public_key": public_key}, "key registration").json()

    def _send(self, method, url, body, what, dropped=()):
        """The answer to one request, retried on connection errors and 5xx; None for a
        status in `dropped` (logged); ReportError for any other 4xx, or when out of tries."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                answer = self.session.request(method, url, json=body, timeout=self.timeout,
                                              headers=_trace_headers())  # fmt: skip
            except requests.RequestException as exc:
                if last:
                    raise ReportError(f"{what}: {exc}") from exc
                time.sleep(self.pause * (attempt + 1))
                continue
            if answer.status_code < 400:
                return answer
            if answer.status_code in dropped:
                log.warning("%s refused (%s): %s", what, answer.status_code, answer.text[:200])
                return None
            if answer.status_code < 500 or last:
                raise ReportError(f"{what}: HTTP {answer.status_code} {answer.text[:200]}")
            time.sleep(self.pause * (attempt + 1))
        return None

    def close(self):
        self.session.close()


def _trace_headers():
    request_id = tracing.request_id()
    return {tracing.HEADER: request_id} if request_id else None


def _json(answer):
    try:
        found = answer.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
