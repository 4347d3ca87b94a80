"""Marshmallow schemas for request bodies, and the bridge to Linode's error list."""

from marshmallow import Schema, ValidationError, fields

from cloudapi.errors import ApiError

UNKNOWN_FIELD = "Unknown field"


class StrictBoolean(fields.Boolean):
    """A JSON boolean only: no 1, "true" or "yes"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    """A JSON integer only: no booleans, floats or numeric strings."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class RequestSchema(Schema):
    """Base for request bodies: unknown fields are errors, messages are Linode-like."""

    error_messages = {"unknown": UNKNOWN_FIELD, "type": "Request body must be a JSON object"}


def flatten(messages, prefix=""):
    """Turn marshmallow's nested error dict into Linode's [{field, reason}] list."""
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                name = prefix or None
            elif isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else key
            out.extend(flatten(value, name or ""))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for reason in messages:
            out.append({"field": prefix, "reason": reason} if prefix else {"reason": reason})
    elif isinstance(messages, list):
        for item in messages:
            out.extend(flatten(item, prefix))
    else:
        out.append(
            {"field": prefix, "reason": str(messages)} if prefix else {"reason": str(messages)}
        )
    return out


def load(schema, body):
    """Validate `body` with `schema`; raise one ApiError listing every problem."""
    if not isinstance(body, dict):
        raise ApiError.reason("Request body must be a JSON object")
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise ApiError(flatten(exc.messages)) from None
