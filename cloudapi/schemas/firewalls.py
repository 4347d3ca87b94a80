"""Cloud Firewall request bodies: create, update, rules and devices, with Linode's rules.

Rules come back as they were sent (their keys, in their order), as Linode does; only
empty optional values (`ports`/`label`/`description` null, `label` "" as linodego sends
when unset) are dropped. Read-only keys a client echoes back from a GET (`fingerprint`,
`version`) are accepted and ignored.
"""

from marshmallow import (
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from cloudapi.domain import firewall_rules as fr
from cloudapi.domain import rules
from cloudapi.schemas import BoundedList, RequestSchema, StrictInteger
from cloudapi.schemas import check as _check

MAX_TAGS = 100
MAX_DEVICES = 100
DEVICE_TYPES = ("linode", "nodebalancer")
NEW_FIREWALL_ENABLED = "A new Firewall is always enabled; disable it with an update"


def _tag_problem(tag):
    return rules.tag_problem(tag) or (None if tag.isprintable() else fr.CONTROL_CHARACTERS)


def tags_field():
    return BoundedList(fields.String(validate=_check(_tag_problem)), most=MAX_TAGS)


def label_field(**kwargs):
    return fields.String(validate=_check(lambda v: rules.label_problems(v, 3, 32)), **kwargs)


def _required(name):
    return {"required": f"{name} is required", "null": f"{name} is required"}


def _in_sent_order(data, original):
    """`data` with its keys in the order the client sent them."""
    if not isinstance(original, dict):
        return data
    return {key: data[key] for key in original if key in data}


class AddressesSchema(RequestSchema):
    ipv4 = BoundedList(
        fields.String(validate=_check(lambda a: fr.address_problem(a, 4))),
        most=fr.MAX_ADDRESSES, too_many=fr.TOO_MANY_ADDRESSES,
        validate=validate.Length(min=1, error=fr.EMPTY_LIST),
    )  # fmt: skip
    ipv6 = BoundedList(
        fields.String(validate=_check(lambda a: fr.address_problem(a, 6))),
        most=fr.MAX_ADDRESSES, too_many=fr.TOO_MANY_ADDRESSES,
        validate=validate.Length(min=1, error=fr.EMPTY_LIST),
    )  # fmt: skip

    @validates_schema(pass_original=True)
    def _some(self, data, original, **kwargs):
        sent = original if isinstance(original, dict) else {}
        if "ipv4" not in sent and "ipv6" not in sent:
            raise ValidationError(fr.NO_ADDRESSES)
        if len(data.get("ipv4", [])) + len(data.get("ipv6", [])) > fr.MAX_ADDRESSES:
            raise ValidationError(fr.TOO_MANY_ADDRESSES)

    @post_load(pass_original=True)
    def _order(self, data, original, **kwargs):
        return _in_sent_order(data, original)


class RuleSchema(RequestSchema):
    action = fields.String(
        required=True, validate=validate.OneOf(fr.ACTIONS), error_messages=_required("action")
    )
    protocol = fields.String(
        required=True, validate=validate.OneOf(fr.PROTOCOLS), error_messages=_required("protocol")
    )
    ports = fields.String(allow_none=True)
    addresses = fields.Nested(AddressesSchema, required=True, error_messages=_required("addresses"))
    label = fields.String(allow_none=True)
    description = fields.String(
        allow_none=True, validate=_check(lambda v: fr.text_problem(v, fr.RULE_DESCRIPTION))
    )

    @validates_schema(skip_on_field_errors=False)
    def _ports_and_label(self, data, **kwargs):
        errors = {}
        ports = data.get("ports")
        if ports and data.get("protocol") in fr.PORTLESS:
            errors["ports"] = [fr.PORTS_NOT_ALLOWED]
        elif ports and (problem := fr.ports_problem(ports)):
            errors["ports"] = [problem]
        label = data.get("label")
        if label and (problem := fr.text_problem(label, fr.RULE_LABEL)):
            errors["label"] = [problem]
        if errors:
            raise ValidationError(errors)

    @post_load(pass_original=True)
    def _clean(self, data, original, **kwargs):
        kept = {k: v for k, v in data.items() if v is not None and v != ""}
        return _in_sent_order(kept, original)


def _rule_list():
    return BoundedList(
        fields.Nested(RuleSchema), most=fr.MAX_RULES, too_many=fr.TOO_MANY_RULES, allow_none=True
    )


class RulesSchema(RequestSchema):
    """PUT .../rules: what is sent replaces its part; a policy left out is kept."""

    inbound = _rule_list()
    outbound = _rule_list()
    inbound_policy = fields.String(validate=validate.OneOf(fr.POLICIES))
    outbound_policy = fields.String(validate=validate.OneOf(fr.POLICIES))
    fingerprint = fields.Raw(load_only=True)  # read-only: echoed back by clients, ignored
    version = fields.Raw(load_only=True)

    @validates_schema
    def _total(self, data, **kwargs):
        if len(data.get("inbound") or []) + len(data.get("outbound") or []) > fr.MAX_RULES:
            raise ValidationError(fr.TOO_MANY_RULES)

    @post_load
    def _drop_read_only(self, data, **kwargs):
        return {k: v for k, v in data.items() if k not in ("fingerprint", "version")}


class CreateRulesSchema(RulesSchema):
    inbound_policy = fields.String(required=True, validate=validate.OneOf(fr.POLICIES),
                                   error_messages=_required("inbound_policy"))  # fmt: skip
    outbound_policy = fields.String(required=True, validate=validate.OneOf(fr.POLICIES),
                                    error_messages=_required("outbound_policy"))  # fmt: skip


def _id_list():
    return BoundedList(StrictInteger(), most=MAX_DEVICES)


class CreateDevicesSchema(RequestSchema):
    linodes = _id_list()
    nodebalancers = _id_list()
    linode_interfaces = _id_list()


class FirewallCreateSchema(RequestSchema):
    label = label_field(required=True, error_messages=_required("label"))
    rules = fields.Nested(CreateRulesSchema, required=True, error_messages=_required("rules"))
    tags = tags_field()
    devices = fields.Nested(CreateDevicesSchema)
    # Read-only in Linode's spec ("when a Firewall is first created its status is
    # enabled"), yet linode_api4's own suite sends status="enabled" on create and Linode
    # takes it: that value is accepted (and dropped); any other is a 400.
    status = fields.String(
        load_only=True, validate=validate.OneOf(["enabled"], error=NEW_FIREWALL_ENABLED)
    )

    @pre_load
    def _no_null_devices(self, data, **kwargs):
        if isinstance(data, dict) and data.get("devices") is None:
            data = {k: v for k, v in data.items() if k != "devices"}
        return data

    @post_load
    def _drop_status(self, data, **kwargs):
        return {k: v for k, v in data.items() if k != "status"}


class FirewallUpdateSchema(RequestSchema):
    label = label_field()
    status = fields.String(validate=validate.OneOf(["enabled", "disabled"]))
    tags = tags_field()


class DeviceCreateSchema(RequestSchema):
    id = StrictInteger(required=True, error_messages=_required("id"))
    type = fields.String(
        required=True, validate=validate.OneOf(DEVICE_TYPES), error_messages=_required("type")
    )
