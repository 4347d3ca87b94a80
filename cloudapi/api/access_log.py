"""gunicorn's logs as JSON lines: `cloudapi serve --logger-class` names `JsonLogger`.

The access line is the request's line in a trace: method, path, status, duration, and
what the app left in the environ (api/request_ids.py): `request_id`, `route`,
`account_id`. gunicorn's own lines (boot, workers) and the app's (the root logger, set
up here before the workers fork) are JSON lines too, on stderr as before; access lines
stay on the access log (`--access-logfile -`: stdout).

An explicit `--access-logformat` (GUNICORN_CMD_ARGS; tests read worker pids that way)
keeps gunicorn's plain access lines in that format: it asks for exactly that text.
"""

from gunicorn import glogging
from gunicorn.config import AccessLogFormat

from cloudapi import tracing
from cloudapi.api.request_ids import ENVIRON, account_fields


class JsonLogger(glogging.Logger):
    """gunicorn's Logger, with JSON formatters and a structured access line."""

    def setup(self, cfg):
        super().setup(cfg)
        self.plain_access = cfg.access_log_format != AccessLogFormat.default
        formatter = tracing.Formatter(component="api")
        logs = [self.error_log] if self.plain_access else [self.error_log, self.access_log]
        for log in logs:
            for handler in log.handlers:
                handler.setFormatter(formatter)
        tracing.configure("api", more=account_fields)

    def access(self, resp, req, environ, request_time):
        if self.plain_access:
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log.handlers:  # no access log asked for
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        method, path = environ.get("REQUEST_METHOD"), environ.get("RAW_URI")
        fields = {
            **environ.get(ENVIRON, {}),
            "status": int(status),
            "method": method,
            "path": path,
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "remote": environ.get("REMOTE_ADDR"),
            "bytes": getattr(resp, "sent", None),
        }
        try:
            self.access_log.info("%s %s %s", method, path, status, extra=fields)
        except Exception:
            self.exception("access log line lost")
