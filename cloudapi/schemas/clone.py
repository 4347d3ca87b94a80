"""The body of POST /linode/instances/{id}/clone (Linode's clone-linode-instance).

Two shapes, as Linode's spec has them: to a new Linode (`region` and `type` required;
`label`, `group`, `backups_enabled`, `private_ip`, `metadata` allowed), or onto an
existing one (`linode_id`; then those fields are refused, each in the spec's words "Can
only be provided when cloning to a new Linode"). The plan must be one the caller can see,
exactly as on a create: a hidden GPU plan is "A valid plan type by that ID was not
found". `disks` and `configs` must name the source's own (checked here, so every
problem is in one 400).
"""

from marshmallow import fields, validate

from cloudapi.domain import linode_fields, rules
from cloudapi.schemas import BoundedList, StrictBoolean, StrictInteger
from cloudapi.schemas import check as _check
from cloudapi.schemas.cross_field import CrossFieldSchema, catalog_refs
from cloudapi.schemas.linodes import (
    GROUP_MAX,
    MetadataSchema,
    PlacementGroupSchema,
)

NEW_ONLY = ("region", "type", "label", "group", "backups_enabled", "private_ip", "metadata")
ONLY_NEW = "Can only be provided when cloning to a new Linode"
ONTO_ITSELF = "A Linode cannot be cloned onto itself"
MAX_IDS = 50  # Linode: a Linode has at most 50 disks; configs are fewer in practice


class CloneSchema(CrossFieldSchema):
    region = fields.String()
    type = fields.String(validate=validate.Length(max=64))
    label = fields.String(validate=_check(rules.label_problems))
    group = fields.String(validate=validate.Length(max=GROUP_MAX))
    backups_enabled = StrictBoolean()
    private_ip = StrictBoolean()
    metadata = fields.Nested(MetadataSchema)
    linode_id = StrictInteger(allow_none=True)
    disks = BoundedList(StrictInteger(), most=MAX_IDS)
    configs = BoundedList(StrictInteger(), most=MAX_IDS)
    placement_group = fields.Nested(PlacementGroupSchema, allow_none=True)

    def __init__(self, *, catalog, features, source, disk_ids, config_ids, label_taken, **kw):
        """`source` is the Linode cloned; `disk_ids` and `config_ids` are its own."""
        super().__init__(**kw)
        self.catalog = catalog
        self.features = features
        self.source = source
        self.disk_ids = frozenset(disk_ids)
        self.config_ids = frozenset(config_ids)
        self.label_taken = label_taken

    def relevant(self, data, original):
        if isinstance(original, dict) and original.get("linode_id") is not None:
            # A linode_id that failed its own check still says an existing target is meant.
            return {**data, "linode_id": data.get("linode_id", original["linode_id"])}
        return data

    def problems(self, data, sent):
        yield from self._target(data, sent)
        yield from self._catalog_refs(data)
        yield from self._parts(data)

    def _target(self, data, sent):
        if data.get("linode_id") is None:
            for name in ("region", "type"):
                if name not in sent:  # sent but refused: its own error says why
                    yield name, f"{name} is required"
            if "label" in data and self.label_taken(data["label"]):
                yield "label", linode_fields.LABEL_TAKEN
            return
        if type(data["linode_id"]) is int and data["linode_id"] == self.source.id:
            yield "linode_id", ONTO_ITSELF
        for name in NEW_ONLY:
            if name in data:
                yield name, ONLY_NEW

    def _catalog_refs(self, data):
        if data.get("linode_id") is not None:
            return
        _plan, region = yield from catalog_refs(self.catalog, self.features, data)
        user_data = data.get("metadata", {}).get("user_data")
        if region and user_data is not None and "Metadata" not in region.capabilities:
            yield "metadata.user_data", "Metadata is not available in this region"

    def _parts(self, data):
        if data.get("placement_group"):
            yield "placement_group.id", "Placement Group not found"
        for name, known, what in (("disks", self.disk_ids, "Disk"),
                                  ("configs", self.config_ids, "Config")):  # fmt: skip
            for i, item in enumerate(data.get(name) or []):
                if item not in known:
                    yield f"{name}[{i}]", f"{what} not found"
