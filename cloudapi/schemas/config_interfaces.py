"""Bodies of a config profile's interface writes, one interface at a time.

Each is checked against the config's interfaces as stored (plain dicts in a loaded
interface's shape, `as_sent` in services/config_interfaces.py): the rules that hold for
a whole list (schemas/linode_interfaces.py `interface_problems`: one public, one primary,
a VLAN label once, unique addresses) are checked on the list the write would leave, as a
config create or update checks its own list (schemas/configs.py).
"""

from marshmallow import ValidationError, fields, validates_schema

from cloudapi.schemas import BoundedList, RequestSchema, StrictBoolean, StrictInteger
from cloudapi.schemas.linode_interfaces import (
    MAX_INTERFACES,
    MAX_IP_RANGES,
    NOT_ALLOWED,
    InterfaceIPv4Schema,
    InterfaceSchema,
    interface_problems,
)

FULL = f"A config profile can have at most {MAX_INTERFACES} interfaces"
VLAN_NOT_UPDATABLE = "VLAN interfaces cannot be updated; delete it and add a new one"
IDS_TWICE = "Each interface id may be listed only once; listed more than once: {}"
IDS_UNKNOWN = "Not an interface of this config profile: {}"
IDS_MISSING = "Must list every interface of this config profile; missing: {}"


def with_primary(interfaces, index):
    """`interfaces` with only the one at `index` primary, when that one asks to be."""
    if not interfaces[index].get("primary"):
        return interfaces
    return [{**iface, "primary": i == index} for i, iface in enumerate(interfaces)]


def problems_of(interfaces, index):
    """{field: [reason]} for the problems of the list `interfaces` caused by the one at
    `index`, named as that one's body names them ("label", "ipv4.vpc")."""
    errors = {}
    prefix = f"interfaces[{index}]."
    for field, reason in interface_problems(interfaces):
        name = field.removeprefix(prefix) if field.startswith(prefix) else "_schema"
        errors.setdefault(name, []).append(reason)
    return errors


def _ids(ids):
    return ", ".join(str(i) for i in ids)


class InterfaceAddSchema(InterfaceSchema):
    """POST .../interfaces: one interface, appended after the `existing` ones (a primary
    one makes the others not primary)."""

    def __init__(self, *, existing, **kwargs):
        super().__init__(**kwargs)
        self.existing = list(existing)

    @validates_schema
    def _in_the_list(self, data, **kwargs):
        if len(self.existing) >= MAX_INTERFACES:
            raise ValidationError(FULL)
        index = len(self.existing)
        if errors := problems_of(with_primary([*self.existing, data], index), index):
            raise ValidationError(errors)


def _vpc_only(data):
    """(field, reason) for the VPC-only fields sent with a value (null, "" and [] count
    as absent: no VPC interface can exist here, so nothing else may be set)."""
    ipv4 = data.get("ipv4") or {}
    for name in ("vpc", "nat_1_1"):
        if ipv4.get(name):
            yield f"ipv4.{name}", NOT_ALLOWED.format(f"ipv4.{name}", "vpc")
    if data.get("ip_ranges"):
        yield "ip_ranges", NOT_ALLOWED.format("ip_ranges", "vpc")


class InterfaceUpdateSchema(RequestSchema):
    """PUT .../interfaces/{id}: Linode's fields. Only `primary` can change on a public
    interface (`ipv4` and `ip_ranges` are a VPC interface's) and a VLAN one cannot be
    updated. `interfaces` and `index`: the config's interfaces and this one's place."""

    primary = StrictBoolean()
    ipv4 = fields.Nested(InterfaceIPv4Schema, allow_none=True)
    ip_ranges = BoundedList(fields.String(), most=MAX_IP_RANGES, allow_none=True)

    def __init__(self, *, interfaces, index, **kwargs):
        super().__init__(**kwargs)
        self.interfaces, self.index = list(interfaces), index

    @validates_schema
    def _in_the_list(self, data, **kwargs):
        current = self.interfaces[self.index]
        if current["purpose"] == "vlan":
            raise ValidationError(VLAN_NOT_UPDATABLE)
        errors = {}
        for name, reason in _vpc_only(data):
            errors.setdefault(name, []).append(reason)
        if errors:
            raise ValidationError(errors)
        changed = [*self.interfaces]
        if "primary" in data:
            changed[self.index] = {**current, "primary": data["primary"]}
        if errors := problems_of(with_primary(changed, self.index), self.index):
            raise ValidationError(errors)


class InterfaceOrderSchema(RequestSchema):
    """POST .../interfaces/order: every one of the config's interface ids (`current`),
    each once, in the order wanted (eth0 first)."""

    ids = BoundedList(StrictInteger(), most=MAX_INTERFACES, required=True,
                      error_messages={"required": "ids is required",
                                      "null": "ids is required"})  # fmt: skip

    def __init__(self, *, current, **kwargs):
        super().__init__(**kwargs)
        self.current = list(current)

    @validates_schema
    def _every_id_once(self, data, **kwargs):
        ids, current = data["ids"], set(self.current)
        problems = []
        if twice := sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(IDS_TWICE.format(_ids(twice)))
        if unknown := sorted(set(ids) - current):
            problems.append(IDS_UNKNOWN.format(_ids(unknown)))
        if missing := [i for i in self.current if i not in ids]:
            problems.append(IDS_MISSING.format(_ids(missing)))
        if problems:
            raise ValidationError({"ids": problems})
