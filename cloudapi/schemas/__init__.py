"""Marshmallow schemas for request bodies, and the bridge to Linode's error list."""

import threading
from contextlib import contextmanager

from marshmallow import Schema, ValidationError, fields, pre_load

from cloudapi.errors import Invalid
from cloudapi.schemas import wire

UNKNOWN_FIELD = "Unknown field"
# Every id and count is an INTEGER column: PostgreSQL's is 32-bit, so larger values must be
# refused as input rather than reach the database (where they are a 500).
DB_INT_MAX = 2**31 - 1


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


class BoundedList(fields.List):
    """A list with at most `most` items, refused by its length before any item is looked at.

    Checking the length first keeps a 10,000-item list cheap (one error, not 10,000).
    """

    def __init__(self, inner, *, most, too_many=None, **kwargs):
        super().__init__(inner, **kwargs)
        self.most = most
        self.too_many = too_many or f"Must have at most {most} items"

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list) and len(value) > self.most:
            raise ValidationError(self.too_many)
        return super()._deserialize(value, attr, data, **kwargs)


def check(problem_fn):
    """Wrap a rule returning a problem (or problems) into a marshmallow validator."""

    def validator(value):
        found = problem_fn(value)
        if found:
            raise ValidationError(found)

    return validator


def _nest(problems):
    """{"tags": {1: [reason]}} from [(("tags", 1), reason)]: marshmallow's error shape."""
    messages = {}
    for path, reason in problems:
        node = messages
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(path[-1] if path else "_schema", []).append(reason)
    return messages


class RequestSchema(Schema):
    """Base for request bodies: unknown fields are errors, messages are Linode-like.

    Every string in the body, in any field (nested, listed or free-form such as
    stackscript_data), must be text a database can store: no NUL, no lone surrogates
    (cloudapi/schemas/wire.py). One check here covers every field of every schema, so
    a new string field cannot forget it.
    """

    error_messages = {"unknown": UNKNOWN_FIELD, "type": "Request body must be a JSON object"}

    @pre_load
    def _storable_text(self, data, **kwargs):
        problems = wire.text_problems(data) if isinstance(data, dict) else []
        if problems:
            raise ValidationError(_nest(problems))
        return data


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


_per_thread = threading.local()


@contextmanager
def reused(schema_class, exclude, **context):
    """This thread's `schema_class(exclude=exclude, **context)`, built once and reused.

    Building a schema copies every declared field, nested schemas included: for the
    linode-create body that is a good part of a create's validation. A schema is not safe
    to share between threads while loading, so each thread keeps its own; `context` (the
    request's catalog, features, lookups) is set on it for the block and dropped after,
    so that nothing of a finished request is kept alive.
    """
    built = _per_thread.__dict__.setdefault("schemas", {})
    key = (schema_class, frozenset(exclude))
    schema = built.get(key)
    if schema is None:
        schema = built[key] = schema_class(exclude=exclude, **context)
    else:
        vars(schema).update(context)
    try:
        yield schema
    finally:
        vars(schema).update(dict.fromkeys(context))


def load(schema, body):
    """Validate `body` with `schema`; raise one Invalid listing every problem."""
    if not isinstance(body, dict):
        raise Invalid.reason("Request body must be a JSON object")
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise Invalid(flatten(exc.messages)) from None
