"""Which Linode properties a PUT may not change, why, and whether a sent value changes one.

Linode's update request schema is the Linode object itself, its read-only properties
marked `readOnly` (linode-openapi.yaml, updateLinodeInstance), and the clients send
them: linode_api4's `save()` always sends `backups.enabled`, a generic client PUTs back
the whole GET answer. So a read-only value sent as it is shown is accepted and ignored,
and a changed one is refused with the operation that does change it. Pure code.
"""

import json

LABEL_TAKEN = "Label must be unique among your Linodes"

# Property (dotted path) -> the reason a change is refused, pointing to Linode's way.
READ_ONLY = {
    "id": "id is read-only",
    "created": "created is read-only",
    "type": "Cannot be changed here; resize the Linode to change its type "
    "(POST /linode/instances/{linodeId}/resize)",
    "region": "Cannot be changed here; migrate the Linode to change its region "
    "(POST /linode/instances/{linodeId}/migrate)",
    "image": "Cannot be modified after provisioning; rebuild the Linode to deploy another "
    "image (POST /linode/instances/{linodeId}/rebuild)",
    "specs": "Follows the Linode's type; resize the Linode to change it "
    "(POST /linode/instances/{linodeId}/resize)",
    "ipv4": "ipv4 is read-only; manage addresses under /linode/instances/{linodeId}/ips",
    "ipv6": "ipv6 is read-only; manage addresses under /linode/instances/{linodeId}/ips",
    "hypervisor": "hypervisor is read-only",
    "host_uuid": "host_uuid is read-only",
    "has_user_data": "has_user_data is read-only; user data is set when the Linode is "
    "created or rebuilt",
    "disk_encryption": "Cannot be changed here; rebuild the Linode to change its disk "
    "encryption (POST /linode/instances/{linodeId}/rebuild)",
    "lke_cluster_id": "lke_cluster_id is read-only",
    "placement_group": "Cannot be changed here; placement groups are assigned with "
    "POST /placement/groups/{groupId}/assign",
    "site_type": "site_type is read-only",
    "capabilities": "capabilities is read-only",
    "interface_generation": "Cannot be changed here; upgrade the Linode's interfaces with "
    "POST /linode/instances/{linodeId}/upgrade-interfaces",
    "locks": "locks is read-only; locks are managed under /locks",
    "backups.enabled": "backups.enabled is read-only; enable backups with "
    "POST /linode/instances/{linodeId}/backups/enable and cancel them with "
    "POST /linode/instances/{linodeId}/backups/cancel",
}
# Read-only values that move on their own (the status as the host works, `updated` on
# every change, backups as they run): a client's copy may be stale without meaning any
# change, so a well-typed value is ignored rather than compared.
VOLATILE = ("status", "updated", "backups.available", "backups.last_successful")
# Lists the clients treat as sets (linode_api4: `Property(unordered=True)`).
UNORDERED = ("ipv4", "capabilities", "locks")
_MISSING = object()


def _canonical(value, unordered):
    """A comparable form: JSON types kept apart (true is not 1), key order ignored."""
    if unordered and isinstance(value, list):
        return sorted(json.dumps(v, sort_keys=True) for v in value)
    return json.dumps(value, sort_keys=True)


def _at(view, path):
    node = view
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def changes(sent, view):
    """(path, reason) for each read-only value in `sent` that differs from `view`.

    `sent` is the loaded body (nested dicts), `view` the Linode as a GET shows it now;
    a property the view lacks counts as changed (there is nothing it could equal).
    """
    found = []
    for path, reason in READ_ONLY.items():
        value = _at(sent, path)
        if value is _MISSING:
            continue
        shown = _at(view, path)
        unordered = path in UNORDERED
        if shown is _MISSING or _canonical(value, unordered) != _canonical(shown, unordered):
            found.append((path, reason))
    return found
