"""The host description: what `cloudapi hosts discover` writes and `hosts add` reads.

{"hostname": "gpu-1.us-east", "region": "us-east", "reserved_cpus": "0,40",
 "numa_nodes": [{"node": 0, "cpus": "0-19,40-59", "memory_mb": 188416,
                 "hugepages_1g": 128, "hugepages_2m": 0}, ...],
 "gpus": [{"pci_address": "0000:3b:00.0", "vendor_id": "10de", "device_id": "1e30",
           "model": "Quadro RTX 6000/8000", "numa_node": 0, "iommu_group": 24,
           "iommu_functions": ["0000:3b:00.0", "0000:3b:00.1"]}, ...]}
"""

import re

from marshmallow import ValidationError, fields, validate, validates_schema

from cloudapi.domain.cpus import parse_cpulist
from cloudapi.schemas import BoundedList, RequestSchema, StrictInteger

PCI = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
HEX4 = re.compile(r"^[0-9a-f]{4}$")
# What the inventory's integer columns hold (32-bit signed on every database we run on).
INT32 = validate.Range(min=0, max=2**31 - 1)
HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
CPULIST_MAX = 1024
MAX_NUMA_NODES = 64  # node numbers are 0-63
MAX_GPUS = 64  # our choice: today's largest hosts have 8-16
MAX_IOMMU_FUNCTIONS = 32  # our choice: a GPU's group is itself and an audio/USB function or two


def _cpulist(value):
    if len(value) > CPULIST_MAX:  # the cpus and reserved_cpus columns' width
        raise ValidationError(f"Must be at most {CPULIST_MAX} characters")
    try:
        parse_cpulist(value)
    except ValueError:
        raise ValidationError("Must be a CPU list such as 0-19,40-59") from None


class NumaNodeSchema(RequestSchema):
    node = StrictInteger(required=True, validate=validate.Range(min=0, max=63))
    cpus = fields.String(required=True, validate=_cpulist)
    memory_mb = StrictInteger(required=True, validate=INT32)
    hugepages_1g = StrictInteger(load_default=0, validate=INT32)
    hugepages_2m = StrictInteger(load_default=0, validate=INT32)


class GpuSchema(RequestSchema):
    pci_address = fields.String(required=True, validate=validate.Regexp(PCI))
    vendor_id = fields.String(required=True, validate=validate.Regexp(HEX4))
    device_id = fields.String(required=True, validate=validate.Regexp(HEX4))
    model = fields.String(required=True, validate=validate.Length(1, 128))
    numa_node = StrictInteger(required=True, allow_none=True, validate=INT32)
    iommu_group = StrictInteger(load_default=None, allow_none=True, validate=INT32)
    iommu_functions = BoundedList(fields.String(validate=validate.Regexp(PCI)),
                                  most=MAX_IOMMU_FUNCTIONS, load_default=list)  # fmt: skip


class HostSchema(RequestSchema):
    hostname = fields.String(required=True, validate=validate.Regexp(HOSTNAME))
    region = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]{1,64}$"))
    reserved_cpus = fields.String(load_default="", validate=_cpulist)
    numa_nodes = BoundedList(fields.Nested(NumaNodeSchema), most=MAX_NUMA_NODES, required=True,
                             validate=validate.Length(min=1))  # fmt: skip
    gpus = BoundedList(fields.Nested(GpuSchema), most=MAX_GPUS, load_default=list)

    @validates_schema(skip_on_field_errors=True)
    def _consistent(self, data, **kwargs):
        errors = {}
        nodes = [n["node"] for n in data["numa_nodes"]]
        if len(nodes) != len(set(nodes)):
            errors["numa_nodes"] = ["NUMA node numbers must be unique"]
        seen = set()
        for i, gpu in enumerate(data["gpus"]):
            if gpu["pci_address"] in seen:
                errors[f"gpus[{i}].pci_address"] = ["Listed twice"]
            seen.add(gpu["pci_address"])
            if gpu["numa_node"] is None and len(nodes) > 1:
                errors[f"gpus[{i}].numa_node"] = [
                    "Unknown NUMA node on a multi-node host: set it in the description"
                ]
            elif gpu["numa_node"] is not None and gpu["numa_node"] not in nodes:
                errors[f"gpus[{i}].numa_node"] = ["No such NUMA node on this host"]
        if errors:
            raise ValidationError(errors)
