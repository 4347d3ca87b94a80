"""Config profile bodies: create and update, with Linode's rules.

Devices must name disks of this instance (no Volumes exist here, so any `volume_id` is
"Volume not found"); the kernel must be one of /linode/kernels; legacy interfaces are
checked as a Linode create checks them (schemas/linode_interfaces.py). What a config
create does not send takes Linode's documented default (services/configs.py).
"""

import re

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from cloudapi.db.disks import SLOTS
from cloudapi.domain import kernels
from cloudapi.schemas import DB_INT_MAX, BoundedList, RequestSchema, StrictBoolean, StrictInteger
from cloudapi.schemas import check as _check
from cloudapi.schemas.disks import label_field
from cloudapi.schemas.linode_interfaces import MAX_INTERFACES, InterfaceSchema, interface_problems

KERNEL_NOT_FOUND = "A valid kernel by that ID was not found"
DISK_NOT_FOUND = "Disk not found"
VOLUME_NOT_FOUND = "Volume not found"
ONE_KIND = "Only one of disk_id and volume_id may be set in a slot"
DISK_TWICE = "A disk can be assigned to only one device slot"
NOT_IN_FULLVIRT = "Devices sde-sdh are not available in fullvirt mode"
FULLVIRT_UNAVAILABLE = ("sde", "sdf", "sdg", "sdh")
ROOT_DEVICE = re.compile(r"[A-Za-z0-9/_-]{1,64}")
COMMENTS_MAX = 4096  # our choice: Linode documents no limit


def _required(name):
    return {"required": f"{name} is required", "null": f"{name} is required"}


def _root_device_problem(value):
    if not ROOT_DEVICE.fullmatch(value):
        return "Must be 1-64 characters: letters, digits, /, _ and -"
    return None


class DeviceSchema(RequestSchema):
    disk_id = StrictInteger(allow_none=True)
    volume_id = StrictInteger(allow_none=True)


DevicesSchema = RequestSchema.from_dict(
    {slot: fields.Nested(DeviceSchema, allow_none=True) for slot in SLOTS}, name="DevicesSchema"
)


class HelpersSchema(RequestSchema):
    updatedb_disabled = StrictBoolean()
    distro = StrictBoolean()
    modules_dep = StrictBoolean()
    network = StrictBoolean()
    devtmpfs_automount = StrictBoolean()


class ConfigUpdateSchema(RequestSchema):
    """PUT: each field sent replaces the stored one (`devices` and `interfaces` whole,
    `helpers` one helper at a time); a null `kernel` or `interfaces` changes nothing."""

    label = label_field()
    kernel = fields.String(allow_none=True)
    comments = fields.String(allow_none=True, validate=validate.Length(max=COMMENTS_MAX))
    memory_limit = StrictInteger(validate=validate.Range(min=0, max=DB_INT_MAX))
    run_level = fields.String(validate=validate.OneOf(["default", "single", "binbash"]))
    virt_mode = fields.String(validate=validate.OneOf(["paravirt", "fullvirt"]))
    root_device = fields.String(validate=_check(_root_device_problem))
    helpers = fields.Nested(HelpersSchema)
    devices = fields.Nested(DevicesSchema)
    interfaces = BoundedList(fields.Nested(InterfaceSchema), most=MAX_INTERFACES, allow_none=True)

    def __init__(self, *, disk_ids, current=None, **kwargs):
        """`disk_ids`: the instance's disks a slot may name; `current`: the config as
        stored (an update's `virt_mode` is checked against its devices, and back)."""
        super().__init__(**kwargs)
        self.disk_ids = frozenset(disk_ids)
        self.current = current

    @validates_schema(skip_on_field_errors=False)
    def _references(self, data, **kwargs):
        errors = {}
        for field, reason in self._problems(data):
            node = errors
            *parents, name = field
            for parent in parents:
                node = node.setdefault(parent, {})
            node.setdefault(name, []).append(reason)
        if errors:
            raise ValidationError(errors)

    def _problems(self, data):
        if data.get("kernel") is not None and data["kernel"] not in kernels.BY_ID:
            yield ("kernel",), KERNEL_NOT_FOUND
        yield from self._device_problems(data.get("devices") or {})
        used = _used_slots(data["devices"]) if "devices" in data else self._current_slots()
        virt_mode = data.get("virt_mode", getattr(self.current, "virt_mode", "paravirt"))
        if virt_mode == "fullvirt" and used & set(FULLVIRT_UNAVAILABLE):
            yield ("devices" if "devices" in data else "virt_mode",), NOT_IN_FULLVIRT
        for field, reason in interface_problems(data.get("interfaces") or []):
            yield (field,), reason

    def _current_slots(self):
        return set(self.current.devices) if self.current is not None else set()

    def _device_problems(self, devices):
        seen = set()
        for slot in SLOTS:
            device = devices.get(slot) or {}
            disk_id, volume_id = device.get("disk_id"), device.get("volume_id")
            if disk_id is not None and volume_id is not None:
                yield ("devices", slot), ONE_KIND
            elif volume_id is not None:
                yield ("devices", slot, "volume_id"), VOLUME_NOT_FOUND
            elif disk_id is not None and disk_id not in self.disk_ids:
                yield ("devices", slot, "disk_id"), DISK_NOT_FOUND
            elif disk_id is not None and disk_id in seen:
                yield ("devices", slot, "disk_id"), DISK_TWICE
            seen.add(disk_id)

    @post_load
    def _stored_devices(self, data, **kwargs):
        """`devices` as stored: {slot: disk id} for the slots that name a disk."""
        if "devices" in data:
            data["devices"] = {
                slot: device["disk_id"]
                for slot, device in data["devices"].items()
                if device and device.get("disk_id") is not None
            }
        return data


def _used_slots(devices):
    return {slot for slot, device in devices.items() if device and any(device.values())}


class ConfigCreateSchema(ConfigUpdateSchema):
    label = label_field(required=True, error_messages=_required("label"))
    devices = fields.Nested(DevicesSchema, required=True, error_messages=_required("devices"))
