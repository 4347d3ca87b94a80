"""The small bodies of the admin API and of beta enrollment.

They check form only (types, lengths, list sizes); what the values mean (a valid tag, an
open beta, a GPU plan) the services decide, with their own wording. The admin bodies
ignore keys they do not know, as they always have (openapi.yaml: "Other keys are
ignored"); the beta enrollment, like every /v4 body, refuses them.
"""

from marshmallow import EXCLUDE, fields, validate

from cloudapi.schemas import BoundedList, RequestSchema

EMAIL_MAX = 254  # the accounts.email column, and RFC 5321's limit on an address
TAG_MAX = 64  # the account_tags.tag column
MAX_ACCOUNT_TAGS = 100  # our choice: accounts carry a handful of feature tags


def _required(name):
    return {"required": f"{name} is required", "null": f"{name} is required",
            "invalid": f"{name} is required"}  # fmt: skip


class AdminSchema(RequestSchema):
    class Meta:
        unknown = EXCLUDE


class AccountCreateSchema(AdminSchema):
    email = fields.String(required=True, validate=validate.Length(max=EMAIL_MAX),
                          error_messages=_required("email"))  # fmt: skip
    tags = BoundedList(
        fields.String(validate=validate.Length(max=TAG_MAX)),
        most=MAX_ACCOUNT_TAGS,
        load_default=list,
        error_messages={"invalid": "tags must be a list of strings"},
    )


class AccountTagSchema(AdminSchema):
    tag = fields.String(required=True, validate=validate.Length(max=TAG_MAX),
                        error_messages=_required("tag"))  # fmt: skip


class HostStatusSchema(AdminSchema):
    status = fields.String(load_default=None, validate=validate.Length(max=32))


class GpuInstanceSchema(RequestSchema):
    """The console's one button; bring_up() names the GPU plan and region rules."""

    type = fields.String()
    region = fields.String()
    image = fields.String(allow_none=True)
    label = fields.String(allow_none=True)


class BetaEnrollSchema(RequestSchema):
    id = fields.String(required=True, validate=validate.Length(min=1, error="id is required"),
                       error_messages=_required("id"))  # fmt: skip


class ConsoleLoginSchema(AdminSchema):
    """The console's sign-in: an admin token, exchanged for a session cookie."""

    token = fields.String(required=True, error_messages=_required("token"),
                          validate=validate.Length(min=1, error="token is required"))  # fmt: skip


MAX_FLIP_REGIONS = 100  # our choice: far above the catalog's region count


class FlagFlipSchema(AdminSchema):
    """A flip's scope, all optional: an empty body flips on/off only."""

    regions = BoundedList(
        fields.String(validate=validate.Length(min=1, max=32)),
        most=MAX_FLIP_REGIONS,
        load_default=list,
        error_messages={"invalid": "regions must be a list of region ids"},
    )
    everywhere = fields.Boolean(load_default=False)
    rollout = fields.Integer(
        load_default=None, allow_none=True,
        validate=validate.Range(0, 100, error="rollout must be a percentage from 0 to 100"),
    )  # fmt: skip
    force = fields.Boolean(load_default=False)
