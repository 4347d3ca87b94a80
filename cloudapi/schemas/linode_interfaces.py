"""Config-profile interfaces of a Linode create, checked as Linode and Cloud Manager do.

The shape is linode-openapi.yaml's `interfaces` item plus what Cloud Manager
(`@linode/api-v4` `InterfacePayload`) sends: `vpc_id` and `ipv6`. The rules and their
words follow `@linode/validation`'s `ConfigProfileInterfaceSchema`: Cloud Manager sends
`""` for the fields a purpose does not use, so `""` counts as absent; a field another
purpose uses is "not allowed" here. The server adds what the spec states and only it
can check: VLAN label characters, unique VLAN labels and addresses, one primary, and
that no VPC subnet exists in this cloud.
"""

import ipaddress
import re

from marshmallow import ValidationError, fields, validate

from cloudapi.schemas import BoundedList, RequestSchema, StrictBoolean, StrictInteger

MAX_INTERFACES = 3  # Linode: interfaces maxItems 3
MAX_IP_RANGES = 16  # our choice: routed ranges on one VPC interface
MAX_IPV6_RANGES = 16  # our choice
VLAN_LABEL_CHARS = re.compile(r"^[A-Za-z0-9-]+$")
VLAN_LABEL_LENGTH = "VLAN label must be between 1 and 64 characters."
IPV4_ADDRESS = "Must be a valid IPv4 address, e.g. 192.168.2.0"
IPV4_RANGE = "Must be a valid IPv4 range, e.g. 192.0.2.0/24."
NOT_ALLOWED = "{} is not allowed for interfaces that do not have a purpose set to {}."


def _ipv4_address(value):
    if value in ("", None):
        return  # Linode: empty means "assign one"
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValidationError(IPV4_ADDRESS) from None


def _nat_1_1(value):
    if value != "any":
        _ipv4_address(value)


def ipv4_range_problem(value):
    """Why `value` is not an IPv4 network in CIDR form (an address with its prefix)."""
    if "/" not in value:
        return IPV4_RANGE
    try:
        ipaddress.IPv4Interface(value)
    except ValueError:
        return IPV4_RANGE
    return None


def _ipv4_range(value):
    if problem := ipv4_range_problem(value):
        raise ValidationError(problem)


class InterfaceIPv4Schema(RequestSchema):
    vpc = fields.String(allow_none=True, validate=_ipv4_address)
    nat_1_1 = fields.String(allow_none=True, validate=_nat_1_1)


class RangeSchema(RequestSchema):
    range = fields.String(required=True, validate=validate.Length(min=1, max=64))


class InterfaceIPv6Schema(RequestSchema):
    slaac = BoundedList(fields.Nested(RangeSchema), most=1)
    ranges = BoundedList(fields.Nested(RangeSchema), most=MAX_IPV6_RANGES)
    is_public = StrictBoolean()


class InterfaceSchema(RequestSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(["public", "vlan", "vpc"]))
    label = fields.String(allow_none=True)
    ipam_address = fields.String(allow_none=True)
    primary = StrictBoolean()
    subnet_id = StrictInteger(allow_none=True)
    vpc_id = StrictInteger(allow_none=True)
    ipv4 = fields.Nested(InterfaceIPv4Schema, allow_none=True)
    ipv6 = fields.Nested(InterfaceIPv6Schema, allow_none=True)
    ip_ranges = BoundedList(fields.String(validate=_ipv4_range), most=MAX_IP_RANGES,
                            allow_none=True)  # fmt: skip


def interfaces_field():
    return BoundedList(fields.Nested(InterfaceSchema), most=MAX_INTERFACES)


def _vlan_label_problems(label):
    if not 1 <= len(label) <= 64:
        yield VLAN_LABEL_LENGTH
    if not VLAN_LABEL_CHARS.match(label):
        yield "Must include only ASCII letters, numbers, and dashes"
    elif "--" in label:
        yield "Must not contain two dashes in a row"


def _vlan_problems(iface):
    label = iface.get("label")
    if not label:
        yield "label", "VLAN label is required."
    else:
        for reason in _vlan_label_problems(label):
            yield "label", reason
    if iface.get("ipam_address") and (problem := ipv4_range_problem(iface["ipam_address"])):
        yield "ipam_address", problem
    if iface.get("primary"):
        yield "primary", "VLAN interfaces can't be the primary interface"


def _vpc_problems(iface):
    if iface.get("subnet_id") is None:
        yield "subnet_id", "Subnet is required."
    else:
        yield "subnet_id", "Subnet not found"  # no VPCs exist in this cloud
    if iface.get("vpc_id") is not None:
        yield "vpc_id", "VPC not found"


def _not_for_purpose(iface):
    """Fields set that belong to another purpose: VLAN's label and address, VPC's rest."""
    purpose = iface.get("purpose")
    ipv4 = iface.get("ipv4") or {}
    ipv6 = iface.get("ipv6") or {}
    owned = [
        ("vlan", "label", iface.get("label")),
        ("vlan", "ipam_address", iface.get("ipam_address")),
        ("vpc", "subnet_id", iface.get("subnet_id") is not None),
        ("vpc", "vpc_id", iface.get("vpc_id") is not None),
        ("vpc", "ip_ranges", iface.get("ip_ranges")),
        ("vpc", "ipv4.vpc", ipv4.get("vpc")),
        ("vpc", "ipv4.nat_1_1", ipv4.get("nat_1_1")),
        ("vpc", "ipv6", any(ipv6.values())),
    ]
    for owner, name, present in owned:
        if present and purpose != owner:
            yield name, NOT_ALLOWED.format(name, owner)


def _one_interface(iface):
    yield from _not_for_purpose(iface)
    if iface.get("purpose") == "vlan":
        yield from _vlan_problems(iface)
    elif iface.get("purpose") == "vpc":
        yield from _vpc_problems(iface)


def _repeated(interfaces, key, reason):
    """The second and later interfaces whose truthy `key(iface)` an earlier one has."""
    seen = set()
    for i, iface in enumerate(interfaces):
        value = key(iface)
        if value and value in seen:
            yield i, reason
        seen.add(value)


def interface_problems(interfaces):
    """(field, reason) for every problem of a loaded `interfaces` list."""
    for i, iface in enumerate(interfaces):
        for name, reason in _one_interface(iface):
            yield f"interfaces[{i}].{name}", reason
    checks = [
        ("purpose", lambda f: f.get("purpose") == "public" or None,
         "Only one public interface per config is allowed."),
        ("primary", lambda f: f.get("primary") or None, "Only one interface may be primary"),
        ("label", lambda f: f.get("label") if f.get("purpose") == "vlan" else None,
         "A Linode can be attached to a VLAN only once"),
        ("ipam_address", lambda f: f.get("ipam_address") if f.get("purpose") == "vlan" else None,
         "Must be unique among the Linode's interfaces"),
    ]  # fmt: skip
    for name, key, reason in checks:
        for i, why in _repeated(interfaces, key, reason):
            yield f"interfaces[{i}].{name}", why
