"""What a host agent registers: PUT /internal/agents/key."""

from marshmallow import fields, validate

from cloudapi.schemas import RequestSchema


class AgentKeySchema(RequestSchema):
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=64))
