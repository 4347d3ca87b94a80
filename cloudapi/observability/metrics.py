"""The processes' own Prometheus metrics (events: counters, histograms) and their exposition.

Counters live here, one set per process: the API's HTTP metrics (cloudapi/api/metrics.py),
the relay's jobs sent, an agent's jobs run, failed and dead-lettered. Under gunicorn
(`cloudapi serve`) PROMETHEUS_MULTIPROC_DIR is set before any worker imports this
(gunicorn_conf.py), so each worker writes its samples to a file of its own in that folder
and a scrape, whichever worker answers it, sums every worker's: each request is counted
once. Elsewhere (the test client, the relay, an agent) the values are the process's own.

What is state rather than events (GPUs, instances, the outbox, flags) is not kept here:
a collector reads it from the database at scrape time (collector.py), so N workers do not
report it N times, and a worker that restarted does not report it stale.

Names follow Prometheus' conventions: the `cloudapi_` prefix, `_total` on counters,
base units (`_seconds`). `_created` samples are off: they double the series for nothing
a dashboard here reads.
"""

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

# The classic text format (0.0.4): every Prometheus server and tool reads it.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

disable_created_metrics()

# -- the API (cloudapi/api/metrics.py) --------------------------------------------------

HTTP_REQUESTS = Counter(
    "cloudapi_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "cloudapi_http_request_duration_seconds",
    "Time from the request's first hook to its response, by route template and method.",
    ["route", "method"],
)
RATE_LIMITED = Counter(
    "cloudapi_http_rate_limited_total",
    "Requests refused with 429, by the budget that was spent (v4, v4-create, auth-failures).",
    ["limit"],
)
AUTH_FAILURES = Counter(
    "cloudapi_http_auth_failures_total",
    "Requests that presented a token that resolves to no one, by surface (v4, v4beta, "
    "admin, internal, metrics).",
    ["surface"],
)
CREATES_REFUSED = Counter(
    "cloudapi_instance_creates_refused_total",
    "Linode creates refused for GPU capacity, by plan, region and reason "
    "(no_capacity: nothing fits; busy: other creates kept taking it).",
    ["plan", "region", "reason"],
)

# -- the relay and the agents (their --health-port) -------------------------------------

JOBS_SENT = Counter(
    "cloudapi_jobs_sent_total",
    "Jobs this relay published to the broker, confirmed, by action.",
    ["action"],
)
JOBS_RUN = Counter(
    "cloudapi_jobs_run_total",
    "Jobs this agent ran, by action (failed ones included).",
    ["action"],
)
JOBS_FAILED = Counter(
    "cloudapi_jobs_failed_total",
    "Jobs this agent ran that failed, by action.",
    ["action"],
)
JOBS_DEAD_LETTERED = Counter(
    "cloudapi_jobs_dead_lettered_total",
    "Messages this agent rejected as no job it can run (RabbitMQ dead-letters them), "
    "by action (unknown when it has none it knows).",
    ["action"],
)


def count_sent(jobs):
    for job in jobs:
        JOBS_SENT.labels(job.action).inc()


def count_run(action, status):
    JOBS_RUN.labels(action).inc()
    if status == "failed":
        JOBS_FAILED.labels(action).inc()


# -- exposition -------------------------------------------------------------------------


def multiprocess_mode():
    """Whether this process's metrics are written to PROMETHEUS_MULTIPROC_DIR's files.

    Read from what prometheus_client chose at import, not from the environment now: only
    that says how the counters above were made.
    """
    return bool(getattr(values.ValueClass, "_multiprocess", False))


class _ThisProcess:
    """The default registry's metrics (ours, and the process and GC ones) as a collector."""

    def collect(self):
        yield from REGISTRY.collect()


def exposition(collectors=(), aggregate=None):
    """The text page: the counters (every worker's summed when `aggregate`, by default in
    multiprocess mode; else this process's) followed by `collectors`' families."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode() if aggregate is None else aggregate:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)
