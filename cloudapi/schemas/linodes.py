"""Linode create and update bodies, with Linode's rules.

Both take what the official clients send: the create Cloud Manager's payloads
(interfaces: schemas/linode_interfaces.py), the update linode_api4's `save()`, which
PUTs back read-only properties too (domain/linode_fields.py decides which may not
change and why).
"""

import json

from marshmallow import ValidationError, fields, validate, validates_schema

from cloudapi.domain import linode_fields, rules, sshkeys
from cloudapi.errors import Invalid
from cloudapi.schemas import BoundedList, RequestSchema, StrictBoolean, StrictInteger
from cloudapi.schemas import check as _check
from cloudapi.schemas.cross_field import (
    NEEDS_CREDENTIALS,
    CrossFieldSchema,
    catalog_refs,
)
from cloudapi.schemas.linode_interfaces import interface_problems, interfaces_field

# The real API's words, as linode_api4's integration suite (test_errors.py) records them.
IMAGE_NOT_FOUND = "A valid image by that ID was not found"
NEEDS_IMAGE = "Only used when deploying from an image"
DEPRECATED = "This image is deprecated and cannot be deployed"
KERNELS = ("linode/grub2", "linode/latest-64bit", "linode/direct-disk", "linode/grub-legacy")
SWAP_MAX = 8192
# List lengths. Linode documents two: at most 3 interfaces (linode-openapi.yaml,
# interfaces maxItems 3) and, for images, at most 500 tags; we hold Linodes to the same
# 500. For the rest Linode documents none, so these are our own, far above real use.
MAX_TAGS = 500
MAX_AUTHORIZED_KEYS = 100  # our choice: no documented limit
MAX_AUTHORIZED_USERS = 100  # our choice: no documented limit (and only one user exists)
MAX_IPV4 = 16  # our choice: reserved addresses to assign at once
GROUP_MAX = 50  # Linode documents none for the deprecated group; ours since launch
STACKSCRIPT_DATA_MAX = 65535  # Linode: stackscript_data is at most 65,535 characters
# Linode's enums for backups.schedule ("Scheduling": the API has not picked one yet).
BACKUP_DAYS = ("Scheduling", "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday",
               "Friday", "Saturday")  # fmt: skip
BACKUP_WINDOWS = ("Scheduling", *(f"W{hour}" for hour in range(0, 24, 2)))
STATUSES = ("running", "offline", "booting", "busy", "rebooting", "shutting_down",
            "provisioning", "deleting", "migrating", "rebuilding", "cloning", "restoring",
            "stopped", "billing_suspension", "resizing")  # fmt: skip


class MetadataSchema(RequestSchema):
    user_data = fields.String(validate=_check(rules.user_data_problem))


class PlacementGroupSchema(RequestSchema):
    id = StrictInteger(required=True)
    compliant_only = StrictBoolean()


def _string_list(rule=None, *, most, **kwargs):
    inner = fields.String(validate=_check(rule)) if rule else fields.String()
    return BoundedList(inner, most=most, **kwargs)


def _stackscript_data_size(value):
    if len(json.dumps(value, ensure_ascii=False)) > STACKSCRIPT_DATA_MAX:
        raise ValidationError(f"Must be at most {STACKSCRIPT_DATA_MAX} characters as JSON")


class ScheduleSchema(RequestSchema):
    """A null (or "Scheduling") chooses nothing: what is stored stays (Linode picks)."""

    day = fields.String(allow_none=True, validate=validate.OneOf(BACKUP_DAYS))
    window = fields.String(allow_none=True, validate=validate.OneOf(BACKUP_WINDOWS))


class BackupsUpdateSchema(RequestSchema):
    """`schedule` is writable; the rest is read-only and comes back from GETs."""

    schedule = fields.Nested(ScheduleSchema, allow_none=True)
    enabled = StrictBoolean()
    available = StrictBoolean()
    last_successful = fields.String(allow_none=True)


# The Linode's read-only top-level properties, as a client may send them back: any JSON,
# compared with the Linode as shown (LinodeUpdateSchema._read_only_unchanged).
ReadOnlyProperties = RequestSchema.from_dict(
    {name: fields.Raw(allow_none=True) for name in linode_fields.READ_ONLY if "." not in name},
    name="ReadOnlyProperties",
)


class LinodeUpdateSchema(ReadOnlyProperties):
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
    backups = fields.Nested(BackupsUpdateSchema)
    status = fields.String(validate=validate.OneOf(STATUSES))  # volatile: ignored
    updated = fields.String()  # volatile: ignored

    def __init__(self, *, label_taken, current=None, **kwargs):
        """`current` is the Linode as a GET shows it now; without one, any read-only
        value sent counts as a change."""
        super().__init__(**kwargs)
        self.label_taken = label_taken
        self.current = current or {}

    @validates_schema(skip_on_field_errors=False)
    def _label_unique(self, data, **kwargs):
        if "label" in data and self.label_taken(data["label"]):
            raise ValidationError(linode_fields.LABEL_TAKEN, "label")

    @validates_schema(skip_on_field_errors=False)
    def _read_only_unchanged(self, data, **kwargs):
        errors = {}
        for path, reason in linode_fields.changes(data, self.current):
            *parents, name = path.split(".")
            node = errors
            for parent in parents:
                node = node.setdefault(parent, {})
            node[name] = [reason]
        if errors:
            raise ValidationError(errors)


class LinodeCreateSchema(CrossFieldSchema):
    type = fields.String(required=True, error_messages={"required": "type is required"})
    region = fields.String(required=True, error_messages={"required": "region is required"})
    image = fields.String(allow_none=True)
    root_pass = fields.String(validate=_check(rules.password_problem))
    authorized_keys = _string_list(sshkeys.problem, most=MAX_AUTHORIZED_KEYS)
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
    interfaces = interfaces_field()
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
    # Gated by the launches that name it (flags/launches/): without one of their features
    # the field is excluded from the schema and answers like any unknown field.
    numa_affinity = fields.String(validate=validate.OneOf(["strict", "preferred"]))

    def __init__(self, *, catalog, features, user_keys, label_taken, **kwargs):
        """`user_keys(usernames)` resolves `authorized_users` (services/sshkeys.py), so
        an unknown user is reported with the body's other problems, in its words."""
        super().__init__(**kwargs)
        self.catalog = catalog
        self.features = features
        self.user_keys = user_keys
        self.label_taken = label_taken

    def problems(self, data, sent):
        for check in (self._catalog_refs, self._image_rules, self._references, self._label):
            yield from check(data, sent)

    def _catalog_refs(self, data, sent):
        plan, region = yield from catalog_refs(self.catalog, self.features, data)
        if plan and region:
            if data.get("swap_size", 0) >= plan.disk:
                yield "swap_size", "Must be smaller than the plan's disk"
            swap = data.get("swap_size", 512)
            if data.get("boot_size") is not None and data["boot_size"] + swap > plan.disk:
                yield "boot_size", "Must not exceed the plan's disk less the swap disk"
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
            # A root_pass without an image is ignored, as Linode does (linode-cli's own suite
            # creates with only type, region and root_pass); the rest would be lost silently.
            for name in ("authorized_keys", "authorized_users", "swap_size"):
                if name in sent and data.get(name) != []:  # Cloud Manager sends [] always
                    yield name, NEEDS_IMAGE
            if data.get("stackscript_id") is not None:
                yield "image", "image is required when deploying from a StackScript"
            return
        found = self.catalog.images.get(image)
        if found is None:
            yield "image", IMAGE_NOT_FOUND
        elif found.deprecated:
            yield "image", DEPRECATED
        if data.get("backup_id") is not None:
            yield "backup_id", "Cannot deploy from both an image and a backup"
        credentials = ("root_pass", "authorized_keys", "authorized_users")
        if not any(data.get(k) for k in credentials) and not sent & {"root_pass"}:
            yield "root_pass", NEEDS_CREDENTIALS

    def _references(self, data, sent):
        """Fields naming resources this cloud does not offer (yet) can name none that exist.

        `firewall_id` names a firewall that may exist: the create attaches it in its own
        transaction (services/firewall_devices.attach_on_create), which says if not.
        """
        for name, what in (("stackscript_id", "StackScript"), ("backup_id", "Backup")):
            if data.get(name) is not None:
                yield name, f"{what} not found"
        if data.get("placement_group"):
            yield "placement_group.id", "Placement Group not found"
        for i, address in enumerate(data.get("ipv4") or []):
            yield f"ipv4[{i}]", f"{address} is not a reserved address on this account"
        try:
            self.user_keys(data.get("authorized_users") or [])
        except Invalid as refused:
            yield from ((e.get("field"), e["reason"]) for e in refused.errors)
        if data.get("interface_generation") == "linode":
            yield "interface_generation", "Linode Interfaces are not enabled for this account"
        yield from interface_problems(data.get("interfaces") or [])

    def _label(self, data, sent):
        if "label" in data and self.label_taken(data["label"]):
            yield "label", linode_fields.LABEL_TAKEN


class PowerSchema(RequestSchema):
    """A boot, reboot or shutdown body: `config_id`, when not null, must be one of the
    instance's configs (`config_ids`); anything else (another Linode's config, a string)
    is Linode's "Config not found", with the body's other problems in the same 400."""

    config_id = fields.Raw(allow_none=True)

    def __init__(self, *, config_ids=(), **kwargs):
        super().__init__(**kwargs)
        self.config_ids = frozenset(config_ids)

    @validates_schema(skip_on_field_errors=False)
    def _known_config(self, data, **kwargs):
        chosen = data.get("config_id")
        if chosen is not None and (type(chosen) is not int or chosen not in self.config_ids):
            raise ValidationError("Config not found", "config_id")
