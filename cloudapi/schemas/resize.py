"""The body of POST /linode/instances/{id}/resize (Linode's resize-linode-instance)."""

from marshmallow import fields, validate

from cloudapi.schemas import RequestSchema, StrictBoolean


class ResizeSchema(RequestSchema):
    type = fields.String(
        required=True,
        validate=validate.Length(max=64),
        error_messages={"required": "type is required", "null": "type is required"},
    )
    allow_auto_disk_resize = StrictBoolean(load_default=True)
    migration_type = fields.String(load_default="cold", validate=validate.OneOf(["cold", "warm"]))
