"""What a host agent reports about a job it runs (POST /internal/jobs/{id}/progress)."""

from marshmallow import fields, validate

from cloudapi.schemas import RequestSchema, StrictInteger


class ProgressSchema(RequestSchema):
    status = fields.String(
        required=True, validate=validate.OneOf(["started", "finished", "failed"])
    )
    percent_complete = StrictInteger(validate=validate.Range(min=0, max=100))
    instance_status = fields.String(validate=validate.Length(max=32))
    message = fields.String(validate=validate.Length(max=1024))
