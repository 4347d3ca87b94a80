"""The one funnel that turns every error into Linode's JSON error body and status.

Use cases raise the plain classes of `cloudapi.errors`; the table below is the only
place that gives them an HTTP status. Errors that exist only because of HTTP (a bad
token, a body or URL too large) are `HttpError`s with their own status.
"""

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

from cloudapi.db.outage import is_unavailable
from cloudapi.errors import (
    Busy,
    CloudError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Unavailable,
    UpstreamFailed,
)

log = logging.getLogger(__name__)

INVALID_TOKEN = "Invalid Token"
NOT_AUTHORIZED = "Your OAuth token is not authorized to use this endpoint."
DATABASE_UNAVAILABLE = "Service temporarily unavailable; please retry"
RETRY_AFTER_SECONDS = 5

# Linode answers 400 for a taken label and for "Linode busy.", so Conflict and Busy do too.
STATUS = {
    Invalid: 400,
    Conflict: 400,
    Busy: 400,
    Forbidden: 403,
    NotFound: 404,
    UpstreamFailed: 502,
    Unavailable: 503,
}


class HttpError(CloudError):
    """An error of the HTTP exchange itself, with the status it is sent with."""

    def __init__(self, reason, status):
        super().__init__(reason)
        self.status = status


class Unauthorized(HttpError):
    """No valid token, or a token without the scope an endpoint needs (401)."""

    def __init__(self, reason=INVALID_TOKEN):
        super().__init__(reason, 401)


def status_of(exc: CloudError):
    """The HTTP status of a refusal: its own for an HttpError, else the table's."""
    if isinstance(exc, HttpError):
        return exc.status
    return next((STATUS[k] for k in type(exc).__mro__ if k in STATUS), 400)


def error_response(errors, status):
    """Render Linode's error body."""
    response = jsonify({"errors": errors})
    response.status_code = status
    return response


def _refused(exc: CloudError):
    # Linode's 404 says "Not found" and nothing else: what a NotFound explains is for operators.
    errors = NotFound().errors if isinstance(exc, NotFound) else exc.errors
    return error_response(errors, status_of(exc))


def _http_error(exc: HTTPException):
    reasons = {404: "Not found", 405: "Method not allowed", 413: "Request body is too large"}
    reason = reasons.get(exc.code, exc.description or exc.name)
    response = error_response([{"reason": reason}], exc.code or 500)
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected(exc: Exception):
    """A 500 for a bug; a 503 the client may retry when the database cannot answer now.

    Only what cloudapi.db.outage.is_unavailable recognises (refused or timed-out
    connections, dropped connections, statement and pool timeouts) is a 503; an integrity
    error or a broken query stays a 500, logged with its traceback.
    """
    if is_unavailable(exc):
        log.warning("database unavailable: %s", getattr(exc, "orig", None) or exc)
        response = error_response([{"reason": DATABASE_UNAVAILABLE}], 503)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    log.exception("unhandled error", exc_info=exc)
    return error_response([{"reason": "Internal server error"}], 500)


def init_app(app):
    """Route every error, expected or not, through Linode's JSON error shape."""
    app.register_error_handler(CloudError, _refused)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
