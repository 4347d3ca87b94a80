"""Per-request access to the app's parts: database, catalog, caller's features, body."""

from flask import current_app, g, request

from cloudapi.api.errors import HttpError
from cloudapi.errors import Invalid
from cloudapi.schemas import wire

JSON_MIMETYPE = "application/json"
NOT_JSON_CONTENT = "Content-Type must be application/json"
NOT_VALID_JSON = "Request body is not valid JSON"


def database():
    return current_app.extensions["cloudapi.db"]


def owned(read, *args, render=lambda found: found):
    """`render(read(session, account_id, *args))` for the caller's account, in one reader.

    The read and the rendering share the session, so a relationship the shape needs loads.
    """
    with database().reader() as session:
        return render(read(session, principal().account_id, *args))


def snapshot():
    return current_app.extensions["cloudapi.catalog"].snapshot()


def principal():
    return g.get("principal")


def features():
    """The caller's features, worked out once per request."""
    if "features" not in g:
        source = current_app.extensions["cloudapi.features"]
        g.features = source.features_for(principal())
    return g.features


def body_too_large(limit):
    return f"Request body is too large (at most {limit} bytes)"


def body_bytes():
    """The raw body, read once; over MAX_CONTENT_LENGTH it is a 413.

    Flask refuses a declared Content-Length over the limit, but a chunked body is cut at
    the limit instead (werkzeug's LimitedStream stops there), so one that reached the
    limit is taken as over it.
    """
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        raise HttpError(body_too_large(limit), 413)
    return raw


def has_body():
    """Whether the request carries a body: a Content-Length above 0, or chunked."""
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def require_json_content_type():
    """Refuse a body that is not declared JSON (text/plain, a form, XML, or no type at all).

    Only `application/json` is accepted, with an optional charset that must be UTF-8 (the
    only encoding JSON may use, RFC 8259). Linode answers a non-JSON body with a 400.
    """
    if request.mimetype != JSON_MIMETYPE:
        raise Invalid.reason(NOT_JSON_CONTENT)
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.lower().replace("-", "") != "utf8":
        raise Invalid.reason(NOT_JSON_CONTENT + " in UTF-8")


def body(optional=False):
    """The request's JSON object; an empty body counts as {} where `optional`.

    The body must be declared JSON, parse as JSON no deeper than wire.MAX_DEPTH (deeper
    input once escaped as a RecursionError, a 500) and hold only storable text: a NUL or
    a lone surrogate anywhere is a 400 naming the field. Flask's MAX_CONTENT_LENGTH bounds
    its size (a 413).
    """
    raw = body_bytes()
    if not raw.strip():
        if optional:
            return {}
        raise Invalid.reason("Request body must be a JSON object")
    require_json_content_type()
    try:
        doc = wire.loads(raw)
    except wire.BadJson:
        raise Invalid.reason(NOT_VALID_JSON) from None
    if not isinstance(doc, dict):
        raise Invalid.reason("Request body must be a JSON object")
    problems = wire.text_problems(doc)
    if problems:
        raise Invalid(wire.as_errors(problems))
    return doc


def json_bytes(payload, status=200):
    return current_app.response_class(payload, status=status, mimetype="application/json")
