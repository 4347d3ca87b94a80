"""The bodies of POST /linode/instances/{id}/rebuild and /password, with a create's rules.

A rebuild deploys an image as a create does, so its credentials, image and metadata
follow the create's rules and answer in the create's words (schemas/linodes.py): an
unknown image, a deprecated one, no credential at all, a weak password, an unknown
user. StackScripts are not offered here, so `stackscript_id` and `stackscript_data` are
unknown fields, as on a disk create. Linode's rebuild may also resize (`type`); here the
type may only name the Linode's own plan (a resize is its own request), so a client that
sends the plan back is not refused.
"""

from marshmallow import fields, validate

from cloudapi.domain import rules, sshkeys
from cloudapi.schemas import BoundedList, RequestSchema, StrictBoolean
from cloudapi.schemas import check as _check
from cloudapi.schemas.cross_field import TYPE_NOT_FOUND, CrossFieldSchema, deploy_credentials
from cloudapi.schemas.linodes import (
    DEPRECATED,
    IMAGE_NOT_FOUND,
    MAX_AUTHORIZED_KEYS,
    MAX_AUTHORIZED_USERS,
    MetadataSchema,
)

NO_IMAGE = "You must specify an image"
NO_RESIZE = "A rebuild keeps the Linode's plan; resize it first"


def _required(name):
    return {"required": f"{name} is required", "null": f"{name} is required"}


def password_field():
    return fields.String(
        required=True,
        validate=_check(rules.password_problem),
        error_messages=_required("root_pass"),
    )


class RebuildSchema(CrossFieldSchema):
    # Linode's text (linode-cli's suite asserts it against Linode's API).
    image = fields.String(required=True, error_messages={
        "required": NO_IMAGE, "null": NO_IMAGE, "invalid": NO_IMAGE})  # fmt: skip
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

    def problems(self, data, sent):
        if "image" in data:
            found = self.catalog.images.get(data["image"])
            if found is None:
                yield "image", IMAGE_NOT_FOUND
            elif found.deprecated:
                yield "image", DEPRECATED
        yield from deploy_credentials(data, sent, self.user_keys)
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
