"""Linode create and update bodies, with Linode's rules."""

import ipaddress
import json

from marshmallow import ValidationError, fields, validate, validates_schema

from cloudapi.domain import rules
from cloudapi.schemas import BoundedList, RequestSchema, StrictBoolean, StrictInteger

TYPE_NOT_FOUND = "A valid plan type by that ID was not found"
REGION_NOT_FOUND = "A valid region by that ID was not found"
IMAGE_NOT_FOUND = "A valid image by that ID was not found"
NEEDS_IMAGE = "Only used when deploying from an image"
KERNELS = ("linode/grub2", "linode/latest-64bit", "linode/direct-disk", "linode/grub-legacy")
SWAP_MAX = 8192
# Create parameters that exist only for accounts with the GPU feature; for everyone else
# they are excluded from the schema and so answer exactly like any unknown field.
GPU_ONLY_FIELDS = ("numa_affinity",)
# List lengths. Linode documents two: at most 3 interfaces (linode-openapi.yaml,
# interfaces maxItems 3) and, for images, at most 500 tags; we hold Linodes to the same
# 500. For the rest Linode documents none, so these are our own, far above real use.
MAX_TAGS = 500
MAX_INTERFACES = 3
MAX_AUTHORIZED_KEYS = 100  # our choice: no documented limit
MAX_AUTHORIZED_USERS = 100  # our choice: no documented limit (and only one user exists)
MAX_IPV4 = 16  # our choice: reserved addresses to assign at once
MAX_IP_RANGES = 16  # our choice: routed ranges on one VPC interface
GROUP_MAX = 50  # Linode documents none for the deprecated group; ours since launch
STACKSCRIPT_DATA_MAX = 65535  # Linode: stackscript_data is at most 65,535 characters


def _check(problem_fn):
    """Wrap a rule returning a problem (or problems) into a marshmallow validator."""

    def validator(value):
        found = problem_fn(value)
        if found:
            raise ValidationError(found)

    return validator


def _ip_network(value):
    try:
        ipaddress.ip_interface(value)
    except ValueError:
        raise ValidationError("Must be an IP address in CIDR notation") from None


class MetadataSchema(RequestSchema):
    user_data = fields.String(validate=_check(rules.user_data_problem))


class PlacementGroupSchema(RequestSchema):
    id = StrictInteger(required=True)
    compliant_only = StrictBoolean()


class InterfaceIPv4Schema(RequestSchema):
    vpc = fields.String(allow_none=True)
    nat_1_1 = fields.String(allow_none=True)


class InterfaceSchema(RequestSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(["public", "vlan", "vpc"]))
    label = fields.String(allow_none=True, validate=_check(lambda v: rules.label_problems(v, 1)))
    ipam_address = fields.String(allow_none=True, validate=_ip_network)
    primary = StrictBoolean()
    subnet_id = StrictInteger(allow_none=True)
    ipv4 = fields.Nested(InterfaceIPv4Schema)
    ip_ranges = BoundedList(fields.String(validate=_ip_network), most=MAX_IP_RANGES)


def _string_list(rule=None, *, most, **kwargs):
    inner = fields.String(validate=_check(rule)) if rule else fields.String()
    return BoundedList(inner, most=most, **kwargs)


def _stackscript_data_size(value):
    if len(json.dumps(value, ensure_ascii=False)) > STACKSCRIPT_DATA_MAX:
        raise ValidationError(f"Must be at most {STACKSCRIPT_DATA_MAX} characters as JSON")


class LinodeUpdateSchema(RequestSchema):
    label = fields.String(validate=_check(rules.label_problems))
    group = fields.String(validate=validate.Length(max=GROUP_MAX))
    tags = _string_list(rules.tag_problem, most=MAX_TAGS)
    watchdog_enabled = StrictBoolean()
    maintenance_policy = fields.String(
        validate=validate.OneOf(["linode/migrate", "linode/power_off_on"])
    )
    alerts = fields.Nested(
        type(
            "AlertsSchema",
            (RequestSchema,),
            {
                name: StrictInteger(validate=validate.Range(min=0, max=limit))
                for name, limit in (
                    ("cpu", 100 * 64),
                    ("network_in", 100_000),
                    ("network_out", 100_000),
                    ("transfer_quota", 100),
                    ("io", 100_000),
                )
            },
        )
    )

    def __init__(self, *, label_taken, **kwargs):
        super().__init__(**kwargs)
        self.label_taken = label_taken

    @validates_schema(skip_on_field_errors=False)
    def _label_unique(self, data, **kwargs):
        if "label" in data and self.label_taken(data["label"]):
            raise ValidationError("Label must be unique among your Linodes", "label")


class LinodeCreateSchema(RequestSchema):
    type = fields.String(required=True, error_messages={"required": "type is required"})
    region = fields.String(required=True, error_messages={"required": "region is required"})
    image = fields.String(allow_none=True)
    root_pass = fields.String(validate=_check(rules.password_problem))
    authorized_keys = _string_list(rules.ssh_key_problem, most=MAX_AUTHORIZED_KEYS)
    authorized_users = _string_list(most=MAX_AUTHORIZED_USERS)
    label = fields.String(validate=_check(rules.label_problems))
    group = fields.String(validate=validate.Length(max=GROUP_MAX))
    tags = _string_list(rules.tag_problem, most=MAX_TAGS)
    booted = StrictBoolean()
    backups_enabled = StrictBoolean()
    private_ip = StrictBoolean()
    swap_size = StrictInteger(validate=validate.Range(min=0, max=SWAP_MAX))
    stackscript_id = StrictInteger(allow_none=True)
    stackscript_data = fields.Dict(
        keys=fields.String(), allow_none=True, validate=_stackscript_data_size
    )
    backup_id = StrictInteger(allow_none=True)
    firewall_id = StrictInteger(allow_none=True)
    metadata = fields.Nested(MetadataSchema)
    interfaces = BoundedList(fields.Nested(InterfaceSchema), most=MAX_INTERFACES)
    interface_generation = fields.String(
        allow_none=True, validate=validate.OneOf(["legacy_config", "linode"])
    )
    network_helper = StrictBoolean(allow_none=True)
    placement_group = fields.Nested(PlacementGroupSchema, allow_none=True)
    disk_encryption = fields.String(validate=validate.OneOf(["enabled", "disabled"]))
    maintenance_policy = fields.String(
        validate=validate.OneOf(["linode/migrate", "linode/power_off_on"])
    )
    ipv4 = _string_list(most=MAX_IPV4)
    kernel = fields.String(validate=validate.OneOf(KERNELS))
    boot_size = StrictInteger(validate=validate.Range(min=1))
    numa_affinity = fields.String(validate=validate.OneOf(["strict", "preferred"]))

    def __init__(self, *, catalog, features, username, label_taken, **kwargs):
        super().__init__(**kwargs)
        self.catalog = catalog
        self.features = features
        self.username = username
        self.label_taken = label_taken

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _cross_field(self, data, original, **kwargs):
        errors = {}
        sent = set(original) if isinstance(original, dict) else set()
        for check in (self._catalog_refs, self._image_rules, self._references, self._label):
            for field, reason in check(data, sent):
                errors.setdefault(field, []).append(reason)
        if errors:
            raise ValidationError(errors)

    def _catalog_refs(self, data, sent):
        plan = region = None
        if "type" in data:
            plan = self.catalog.visible_type(data["type"], self.features)
            if plan is None:
                yield "type", TYPE_NOT_FOUND
        if "region" in data:
            region = self.catalog.regions.get(data["region"])
            if region is None:
                yield "region", REGION_NOT_FOUND
        if plan and region:
            if plan.gpus and region.id not in self.catalog.gpu_regions:
                yield "region", "GPU Linodes are not available in this region"
            if data.get("swap_size", 0) >= plan.disk:
                yield "swap_size", "Must be smaller than the plan's disk"
            if data.get("boot_size") is not None and data["boot_size"] > plan.disk:
                yield "boot_size", "Must not exceed the plan's disk"
        if plan and "numa_affinity" in data and not plan.gpus:
            yield "numa_affinity", "Only available for GPU plans"
        user_data = data.get("metadata", {}).get("user_data")
        if region and user_data is not None and "Metadata" not in region.capabilities:
            yield "metadata.user_data", "Metadata is not available in this region"

    def _image_rules(self, data, sent):
        if "image" in sent and "image" not in data:
            return  # the image field itself failed; its own error says why
        image = data.get("image")
        if image is None:
            for name in ("root_pass", "authorized_keys", "authorized_users", "swap_size"):
                if name in sent:
                    yield name, NEEDS_IMAGE
            if data.get("stackscript_id") is not None:
                yield "image", "image is required when deploying from a StackScript"
            return
        found = self.catalog.images.get(image)
        if found is None:
            yield "image", IMAGE_NOT_FOUND
        elif found.deprecated:
            yield "image", "This image is deprecated and cannot be deployed"
        if data.get("backup_id") is not None:
            yield "backup_id", "Cannot deploy from both an image and a backup"
        credentials = ("root_pass", "authorized_keys", "authorized_users")
        if not any(data.get(k) for k in credentials) and not sent & {"root_pass"}:
            yield "root_pass", "You must provide a root password when deploying from an image."

    def _references(self, data, sent):
        """Fields naming resources this cloud does not offer (yet) can name none that exist."""
        for name, what in (
            ("stackscript_id", "StackScript"),
            ("backup_id", "Backup"),
            ("firewall_id", "Firewall"),
        ):
            if data.get(name) is not None:
                yield name, f"{what} not found"
        if data.get("placement_group"):
            yield "placement_group.id", "Placement Group not found"
        for i, address in enumerate(data.get("ipv4") or []):
            yield f"ipv4[{i}]", f"{address} is not a reserved address on this account"
        for i, user in enumerate(data.get("authorized_users") or []):
            if user != self.username:
                yield f"authorized_users[{i}]", f"Username {user} not found"
        if data.get("interface_generation") == "linode":
            yield "interface_generation", "Linode Interfaces are not enabled for this account"
        yield from _interface_problems(data.get("interfaces") or [])

    def _label(self, data, sent):
        if "label" in data and self.label_taken(data["label"]):
            yield "label", "Label must be unique among your Linodes"


def _interface_problems(interfaces):
    publics = [i for i, f in enumerate(interfaces) if f.get("purpose") == "public"]
    for i in publics[1:]:
        yield f"interfaces[{i}].purpose", "Only one public interface is allowed"
    primaries = [i for i, f in enumerate(interfaces) if f.get("primary")]
    for i in primaries[1:]:
        yield f"interfaces[{i}].primary", "Only one interface may be primary"
    for i, iface in enumerate(interfaces):
        if iface.get("purpose") == "vlan" and not iface.get("label"):
            yield f"interfaces[{i}].label", "label is required for a VLAN interface"
        if iface.get("purpose") == "public" and iface.get("label"):
            yield f"interfaces[{i}].label", "A public interface has no label"
        if iface.get("purpose") == "vpc":
            yield f"interfaces[{i}].subnet_id", "Subnet not found"
