"""The bodies of POST /linode/instances/{id}/rebuild and /password, with a create's rules.

A rebuild deploys an image as a create does, so its credentials, image and metadata
follow the create's rules and answer in the create's words (schemas/linodes.py): an
unknown image, a deprecated one, no credential at all, a weak password, an unknown
user. StackScripts are not offered here, so `stackscript_id` and `stackscript_data` are
unknown fields, as on a disk create. Linode's rebuild may also resize (`type`); here the
type may only name the Linode's own plan (a resize is its own request), so a client that
sends the plan back is not refused.
"""

from marshmallow import ValidationError, fields, validate, validates_schema

from cloudapi.domain import rules, sshkeys
from cloudapi.errors import Invalid
from cloudapi.schemas import BoundedList, RequestSchema, StrictBoolean
from cloudapi.schemas import check as _check
from cloudapi.schemas.linodes import (
    IMAGE_NOT_FOUND,
    MAX_AUTHORIZED_KEYS,
    MAX_AUTHORIZED_USERS,
    NEEDS_CREDENTIALS,
    TYPE_NOT_FOUND,
    MetadataSchema,
)

NO_RESIZE = "A rebuild keeps the Linode's plan; resize it first"
DEPRECATED = "This image is deprecated and cannot be deployed"  # the create's words


def _required(name):
    return {"required": f"{name} is required", "null": f"{name} is required"}


def password_field():
    return fields.String(
        required=True,
        validate=_check(rules.password_problem),
        error_messages=_required("root_pass"),
    )


class RebuildSchema(RequestSchema):
    image = fields.String(required=True, error_messages=_required("image"))
    root_pass = fields.String(validate=_check(rules.password_problem))
    authorized_keys = BoundedList(fields.String(validate=_check(sshkeys.problem)),
                                  most=MAX_AUTHORIZED_KEYS)  # fmt: skip
    authorized_users = BoundedList(fields.String(), most=MAX_AUTHORIZED_USERS)
    booted = StrictBoolean(load_default=True)
    metadata = fields.Nested(MetadataSchema)
    disk_encryption = fields.String(validate=validate.OneOf(["enabled", "disabled"]))
    type = fields.String(validate=validate.Length(max=64))

    def __init__(self, *, catalog, features, instance, user_keys, **kwargs):
        """`instance` is the Linode rebuilt (its region and plan); `user_keys(usernames)`
        resolves `authorized_users`, so an unknown user is in the same 400 as the rest."""
        super().__init__(**kwargs)
        self.catalog = catalog
        self.features = features
        self.instance = instance
        self.user_keys = user_keys

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _cross_field(self, data, original, **kwargs):
        sent = set(original) if isinstance(original, dict) else set()
        errors = {}
        for field, reason in self._problems(data, sent):
            errors.setdefault(field, []).append(reason)
        if errors:
            raise ValidationError(errors)

    def _problems(self, data, sent):
        if "image" in data:
            found = self.catalog.images.get(data["image"])
            if found is None:
                yield "image", IMAGE_NOT_FOUND
            elif found.deprecated:
                yield "image", DEPRECATED
        credentials = ("root_pass", "authorized_keys", "authorized_users")
        if not any(data.get(k) for k in credentials) and "root_pass" not in sent:
            yield "root_pass", NEEDS_CREDENTIALS
        try:
            self.user_keys(data.get("authorized_users") or [])
        except Invalid as refused:
            yield from ((e.get("field"), e["reason"]) for e in refused.errors)
        region = self.catalog.regions.get(self.instance.region_id)
        user_data = data.get("metadata", {}).get("user_data")
        if user_data is not None and region is not None and "Metadata" not in region.capabilities:
            yield "metadata.user_data", "Metadata is not available in this region"
        if data.get("type", self.instance.type_id) != self.instance.type_id:
            hidden = self.catalog.visible_type(data["type"], self.features) is None
            yield "type", TYPE_NOT_FOUND if hidden else NO_RESIZE


class PasswordResetSchema(RequestSchema):
    """POST .../password: the new root password, held to a create's strength rule."""

    root_pass = password_field()
