"""Per-request access to the app's parts: database, catalog, caller's features, body."""

import json

from flask import current_app, g, request

from cloudapi.errors import ApiError


def database():
    return current_app.extensions["cloudapi.db"]


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


def body(optional=False):
    """The request's JSON object; an empty body counts as {} where `optional`."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise ApiError.reason("Request body must be a JSON object")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise ApiError.reason("Request body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise ApiError.reason("Request body must be a JSON object")
    return doc


def json_bytes(payload, status=200):
    return current_app.response_class(payload, status=status, mimetype="application/json")
