"""Address request bodies: POST .../ips (a new address) and PUT of an address's RDNS."""

import re

from marshmallow import fields, validate

from cloudapi.schemas import RequestSchema, StrictBoolean
from cloudapi.schemas import check as _check

MAX_RDNS = 253  # a domain name's length, without its final dot
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
BAD_RDNS = "rdns must be a valid domain name, such as host.example.org"


def _required(name):
    return {"required": f"{name} is required", "null": f"{name} is required"}


def rdns_problem(value):
    """Why `value` cannot be an address's reverse DNS name, or None.

    Forward DNS is not looked up here (Linode checks it): only the name's form is.
    """
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if len(name) > MAX_RDNS or len(labels) < 2 or not all(_LABEL.match(p) for p in labels):
        return BAD_RDNS
    return None


class AddressCreateSchema(RequestSchema):
    """addLinodeIP: `{"type": "ipv4", "public": false}`."""

    type = fields.String(
        required=True, validate=validate.OneOf(["ipv4"]), error_messages=_required("type")
    )
    public = StrictBoolean(required=True, error_messages=_required("public"))


class RdnsSchema(RequestSchema):
    """updateLinodeIP / updateIP: `rdns` is required; null resets it to the default."""

    rdns = fields.String(
        required=True, allow_none=True, validate=_check(rdns_problem),
        error_messages={"required": "rdns is required"},
    )  # fmt: skip
