"""Request bodies of the profile, account-settings and tags endpoints, with Linode's rules.

Every string that reaches the database is length-bounded and free of control characters
(PostgreSQL refuses NUL in text, and a label with a newline helps nobody); every list is
bounded, so a huge body is a 400 with the field named, never a 500 or a slow request.
"""

import json
import math
from datetime import UTC, datetime

from marshmallow import INCLUDE, ValidationError, fields, validate, validates_schema

from cloudapi.db.base import utcnow
from cloudapi.domain import sshkeys
from cloudapi.schemas import RequestSchema, StrictBoolean, StrictInteger

CONTROL_CHARACTERS = "Must not contain control characters"
TIME_FORMAT = "Must be a date and time, e.g. 2030-01-01T00:00:00"
MAX_SCOPES_CHARS = 1024
MAX_IDS = 500  # ids in one tag create; far more than an account has Linodes
PREFERENCES_MAX_CHARS = 65535  # Linode: "Total length cannot exceed 65,535 characters"
PREFERENCES_MAX_DEPTH = 32
INTERFACE_MODES = (
    "legacy_config_only",
    "legacy_config_default_but_linode_allowed",
    "linode_default_but_legacy_config_allowed",
    "linode_only",
)
MAINTENANCE_POLICIES = ("linode/migrate", "linode/power_off_on")
# Read-only settings: accepted only with the value they always have here.
READ_ONLY_SETTINGS = {
    "managed": False, "longview_subscription": None, "object_storage": "disabled",
    "tfa_enforced": False,
}  # fmt: skip


def _printable(value):
    if not value.isprintable():
        raise ValidationError(CONTROL_CHARACTERS)


def _text(low, high, **kwargs):
    return fields.String(validate=[validate.Length(min=low, max=high), _printable], **kwargs)


class Expiry(fields.Field):
    """A future moment as `YYYY-MM-DDTHH:MM:SS` (UTC), or ISO 8601 with a zone; None is never.

    Returned naive UTC in whole seconds, as every timestamp is stored.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError(TIME_FORMAT)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(TIME_FORMAT) from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        moment = moment.replace(microsecond=0)
        if moment <= utcnow():
            raise ValidationError("Expiry must be in the future")
        return moment


class TokenCreateSchema(RequestSchema):
    label = _text(1, 100)
    scopes = fields.String(allow_none=True, validate=validate.Length(max=MAX_SCOPES_CHARS))
    expiry = Expiry(allow_none=True)


class TokenUpdateSchema(RequestSchema):
    label = _text(1, 100)


class SSHKeyCreateSchema(RequestSchema):
    label = _text(0, 64)
    ssh_key = fields.String(required=True, error_messages={"required": "ssh_key is required"})

    @validates_schema(skip_on_field_errors=False)
    def _key(self, data, **kwargs):
        if "ssh_key" in data:
            found = sshkeys.problem(data["ssh_key"])
            if found:
                raise ValidationError(found, "ssh_key")


class SSHKeyUpdateSchema(RequestSchema):
    label = _text(0, 64)


class AccountSettingsUpdateSchema(RequestSchema):
    backups_enabled = StrictBoolean()
    network_helper = StrictBoolean()
    interfaces_for_new_linodes = fields.String(validate=validate.OneOf(INTERFACE_MODES))
    maintenance_policy = fields.String(validate=validate.OneOf(MAINTENANCE_POLICIES))
    managed = fields.Raw(allow_none=True)
    longview_subscription = fields.Raw(allow_none=True)
    object_storage = fields.Raw(allow_none=True)
    tfa_enforced = fields.Raw(allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _read_only(self, data, **kwargs):
        errors = {
            name: f"{name} is read-only"
            for name, fixed in READ_ONLY_SETTINGS.items()
            if name in data and data[name] != fixed
        }
        if errors:
            raise ValidationError(errors)


def _id_list(most=MAX_IDS, error=None):
    inner = StrictInteger(validate=validate.Range(min=1, max=2**31 - 1))
    length = validate.Length(max=most, error=error) if error else validate.Length(max=most)
    return fields.List(inner, allow_none=True, validate=length)


class TagCreateSchema(RequestSchema):
    label = fields.String(
        required=True,
        error_messages={"required": "label is required"},
        validate=[validate.Length(min=3, max=50, error="Length must be 3-50 characters"),
                  _printable],
    )  # fmt: skip
    linodes = _id_list()
    # Kinds of entity this cloud does not have: only empty (or null) is acceptable.
    domains = _id_list(0, "Not found")
    nodebalancers = _id_list(0, "Not found")
    volumes = _id_list(0, "Not found")
    reserved_ipv4_addresses = fields.List(
        fields.String(), allow_none=True, validate=validate.Length(max=0, error="Not found")
    )


def _depth_and_numbers(doc):
    """Walk the document without recursion: bounded depth, finite numbers only."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > PREFERENCES_MAX_DEPTH:
            raise ValidationError(f"Must be nested at most {PREFERENCES_MAX_DEPTH} levels deep")
        if isinstance(node, float) and not math.isfinite(node):
            raise ValidationError("Numbers must be finite")
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


class PreferencesSchema(RequestSchema):
    """Any JSON object (it replaces the stored one), at most 65,535 characters long."""

    class Meta:
        unknown = INCLUDE

    @validates_schema
    def _bounded(self, data, **kwargs):
        _depth_and_numbers(data)
        if len(serialize(data, ascii_only=False)) > PREFERENCES_MAX_CHARS:
            raise ValidationError(
                f"Total length cannot exceed {PREFERENCES_MAX_CHARS:,} characters"
            )


def serialize(doc, ascii_only=True):
    """Compact JSON text; ASCII-only for storage, so any string survives any database."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=ascii_only, allow_nan=False)
