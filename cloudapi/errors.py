"""Linode-style errors and the one funnel that renders every error as JSON."""

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

from cloudapi.db.outage import is_unavailable

log = logging.getLogger(__name__)

INVALID_TOKEN = "Invalid Token"
NOT_AUTHORIZED = "Your OAuth token is not authorized to use this endpoint."
DATABASE_UNAVAILABLE = "Service temporarily unavailable; please retry"
RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    """An error a client may see: an HTTP status and Linode's list of reasons."""

    status = 400

    def __init__(self, errors, status=None):
        super().__init__(errors)
        self.errors = errors
        if status is not None:
            self.status = status

    @classmethod
    def field(cls, field, reason, status=None):
        """Build an error about one request field."""
        return cls([{"field": field, "reason": reason}], status)

    @classmethod
    def reason(cls, reason, status=None):
        """Build an error that is not about one field."""
        return cls([{"reason": reason}], status)


class NotFound(ApiError):
    status = 404

    def __init__(self):
        super().__init__([{"reason": "Not found"}])


class Unauthorized(ApiError):
    status = 401

    def __init__(self, reason=INVALID_TOKEN):
        super().__init__([{"reason": reason}])


def error_response(errors, status):
    """Render Linode's error body."""
    response = jsonify({"errors": errors})
    response.status_code = status
    return response


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
    app.register_error_handler(ApiError, lambda e: error_response(e.errors, e.status))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
