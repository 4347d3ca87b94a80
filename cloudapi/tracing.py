"""One trace id from a request to the domain it builds, and the JSON-lines logs carrying it.

Every API request gets a request id (the client's `X-Request-Id` when it is a sane one,
else a new one: api/request_ids.py). It is the trace id of everything the request
causes: the job rows it writes (`jobs.request_id`), the broker message the relay sends,
the agent's log lines and its progress reports (sent with that id as their own
`X-Request-Id`), and the domain's libvirt metadata. `cloudapi jobs trace ID` reads it
back from the database and the logs (cloudapi/jobs/trace.py).

The id travels through the process in a context variable, not through every function:
the handler layer (or the relay, or the agent, for the job it is working on) binds it,
and the two readers are `outbox`'s job rows (the `jobs.request_id` column default) and
the log filter. A context variable is per thread and per task, so gunicorn's threads
never see each other's ids, and the service layer stays free of Flask.

Logs are JSON lines through python-json-logger (docs/decisions.md 34): `ts` (UTC, ISO
8601 with microseconds, so lines of several processes sort by it), `level`, `logger`,
`msg`, then whatever is bound (`request_id`, `account_id`, `route`, `job_id`,
`instance_id`) and a record's own `extra=` fields (`status`, `outcome`, ...).
"""

import contextvars
import logging
import re
import sys
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

HEADER = "X-Request-Id"
# What a client's id may be: short, and nothing a log line or a header could be abused by.
VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
FIELDS = ("request_id", "account_id", "route", "job_id", "instance_id")
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
RENAMED = {"asctime": "ts", "levelname": "level", "name": "logger", "message": "msg"}

_bound = contextvars.ContextVar("cloudapi.trace", default=None)


def _fields():
    return _bound.get() or {}


def new_id():
    return uuid.uuid4().hex


def accept(value):
    """The client's id when it is valid (1-64 of [A-Za-z0-9._-]), else a new one."""
    return valid(value) or new_id()


def valid(value):
    """`value` when it is a valid id, else None (a message from an older relay has none)."""
    return value if isinstance(value, str) and VALID_ID.fullmatch(value) else None


def request_id():
    """The request id bound now, or None (a job written by the CLI has none)."""
    return _fields().get("request_id")


def bind(**fields):
    """Add `fields` (None values left out) to what is bound; returns the token to reset."""
    known = {k: v for k, v in fields.items() if v is not None}
    return _bound.set({**_fields(), **known})


def reset(token):
    _bound.reset(token)


@contextmanager
def bound(**fields):
    """`fields` bound for the block: the relay around one job's send, the agent around
    one job's run."""
    token = bind(**fields)
    try:
        yield
    finally:
        reset(token)


class TraceFilter(logging.Filter):
    """Puts the bound fields on each record (a record's own `extra=` wins).

    `more`, if given, returns more fields at the time of the record: the API adds the
    caller's account, which is known only once the blueprint has loaded the token."""

    def __init__(self, more=None):
        super().__init__()
        self.more = more

    def filter(self, record):
        fields = _fields()
        if self.more is not None:
            fields = {**fields, **(self.more() or {})}
        for key, value in fields.items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


class Formatter(JsonFormatter):
    """python-json-logger with our names and a sortable UTC `ts`."""

    def __init__(self, **static):
        super().__init__(FORMAT, rename_fields=RENAMED, static_fields=static or None)

    def formatTime(self, record, datefmt=None):
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def json_handler(stream=None, path=None, more=None, **static):
    """A handler writing JSON lines to `path` (appended) or `stream` (default stderr)."""
    handler = logging.FileHandler(path) if path else logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(Formatter(**static))
    handler.addFilter(TraceFilter(more))
    handler._cloudapi_json = True  # so that configure() replaces it rather than adds one
    return handler


def configure(component, level=logging.INFO, path=None, stream=None, more=None, **static):
    """Make the root logger write JSON lines (to `path`, else `stream`/stderr), once.

    `component` ("api", "relay", "agent") and `static` (an agent's `host`) are fields of
    every line. Called again, it replaces the handler it installed before and leaves
    others' handlers alone."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_cloudapi_json", False)]:
        root.removeHandler(old)
        old.close()
    handler = json_handler(stream, path, more, component=component, **static)
    root.addHandler(handler)
    # Our own lines from `level` up; libraries' (APScheduler, kombu) from warnings only.
    root.setLevel(max(level, logging.WARNING))
    logging.getLogger("cloudapi").setLevel(level)
    return handler
