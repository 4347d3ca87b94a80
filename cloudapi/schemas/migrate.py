"""The body of POST /linode/instances/{id}/migrate (Linode's post-migrate-linode-instance)."""

from marshmallow import fields, validate

from cloudapi.schemas import RequestSchema, StrictBoolean, StrictInteger


class PlacementGroupRef(RequestSchema):
    id = StrictInteger(required=True)


class MigrateSchema(RequestSchema):
    region = fields.String(validate=validate.Length(max=64))
    type = fields.String(load_default="cold", validate=validate.OneOf(["cold", "warm"]))
    upgrade = StrictBoolean(load_default=False)
    placement_group = fields.Nested(PlacementGroupRef)
