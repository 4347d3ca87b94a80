"""Disk request bodies: create, update (label), resize, clone and password, with Linode's rules.

The create takes what linode_api4's `disk_create` sends: it always sends `read_only`
(false) and may send `disk_encryption`. StackScripts are not offered here, so
`stackscript_id` and `stackscript_data` are unknown fields, refused as any other.
"""

from marshmallow import fields, validate

from cloudapi.domain import rules, sshkeys
from cloudapi.schemas import BoundedList, RequestSchema, StrictBoolean, StrictInteger
from cloudapi.schemas import check as _check
from cloudapi.schemas.cross_field import CrossFieldSchema, deploy_credentials
from cloudapi.schemas.linodes import (
    DEPRECATED,
    IMAGE_NOT_FOUND,
    MAX_AUTHORIZED_KEYS,
    MAX_AUTHORIZED_USERS,
    NEEDS_IMAGE,
)

FILESYSTEMS = ("raw", "swap", "ext3", "ext4", "initrd")
LABEL_MAX = 48
# Linode's words, as clients report them ("[400] Disk size must be at least 1 MB").
SIZE_TOO_SMALL = "Disk size must be at least 1 MB"
NO_READ_ONLY = "Read-only disks are not offered"
NEEDS_LABEL = "label is required when not deploying an image"


def _required(name):
    return {"required": f"{name} is required", "null": f"{name} is required"}


def _label_problem(label):
    if not 1 <= len(label) <= LABEL_MAX:
        return f"Length must be 1-{LABEL_MAX} characters"
    return None if label.isprintable() else "Must not contain control characters"


def label_field(**kwargs):
    return fields.String(validate=_check(_label_problem), **kwargs)


def size_field():
    return StrictInteger(
        required=True,
        validate=validate.Range(min=1, error=SIZE_TOO_SMALL),
        error_messages=_required("size"),
    )


class DiskCreateSchema(CrossFieldSchema):
    size = size_field()
    label = label_field()
    filesystem = fields.String(validate=validate.OneOf(FILESYSTEMS))
    image = fields.String(allow_none=True)
    root_pass = fields.String(validate=_check(rules.password_problem))
    authorized_keys = BoundedList(fields.String(validate=_check(sshkeys.problem)),
                                  most=MAX_AUTHORIZED_KEYS)  # fmt: skip
    authorized_users = BoundedList(fields.String(), most=MAX_AUTHORIZED_USERS)
    read_only = StrictBoolean(validate=validate.Equal(False, error=NO_READ_ONLY))
    disk_encryption = fields.String(validate=validate.OneOf(["enabled", "disabled"]))

    def __init__(self, *, image_of, user_keys, **kwargs):
        """`image_of(id)` is the image by that id, or None; `user_keys(usernames)` resolves
        `authorized_users` (services/sshkeys.py), so every problem is in one 400."""
        super().__init__(**kwargs)
        self.image_of = image_of
        self.user_keys = user_keys

    def problems(self, data, sent):
        if "image" in sent and "image" not in data:
            return  # the image field itself failed; its own error says why
        if data.get("image") is None:
            yield from self._without_image(data, sent)
            return
        image = self.image_of(data["image"])
        if image is None:
            yield "image", IMAGE_NOT_FOUND
        elif image.deprecated:
            yield "image", DEPRECATED
        elif data.get("size", image.size) < image.size:
            yield "size", f"Must be at least {image.size} MB for this image"
        yield from deploy_credentials(data, sent, self.user_keys)

    def _without_image(self, data, sent):
        for name in ("root_pass", "authorized_keys", "authorized_users"):
            if name in sent and data.get(name) != []:
                yield name, NEEDS_IMAGE
        if "label" not in sent:
            yield "label", NEEDS_LABEL


class DiskUpdateSchema(RequestSchema):
    label = label_field()


class DiskResizeSchema(RequestSchema):
    size = size_field()


class DiskCloneSchema(RequestSchema):
    """Linode's clone takes no body: `{}` (or none) only."""


class DiskPasswordSchema(RequestSchema):
    password = fields.String(
        required=True, validate=_check(rules.password_problem), error_messages=_required("password")
    )
