"""Linode's kernels and maintenance policies: small, fixed catalogs in Linode's shapes.

Clients read these at start-up (Cloud Manager's Linode config form, Terraform's
`linode_kernel` data source, linode-cli's `kernels list`), so the ids are Linode's own.
Every instance here boots its image's kernel through GRUB 2, which is what
`linode/grub2` and `linode/latest-64bit` mean on Linode's KVM hosts.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Kernel:
    id: str
    label: str
    version: str
    built: str
    kvm: bool = True
    pvops: bool = True
    deprecated: bool = False
    architecture: str = "x86_64"

    def render(self):
        return {
            "id": self.id,
            "label": self.label,
            "version": self.version,
            "kvm": self.kvm,
            "architecture": self.architecture,
            "pvops": self.pvops,
            "deprecated": self.deprecated,
            "built": self.built,
        }


KERNELS = (
    Kernel("linode/latest-64bit", "Latest 64 bit (6.2.9-x86_64-linode160)", "6.2.9",
           "2023-04-03T15:35:00"),
    Kernel("linode/grub2", "GRUB 2", "2.06", "2022-08-29T14:28:00", pvops=False),
    Kernel("linode/direct-disk", "Direct Disk", "", "2015-05-04T21:51:43", pvops=False),
    Kernel("linode/grub-legacy", "GRUB (Legacy)", "2.0.0", "2015-04-29T15:32:30",
           pvops=False),
    Kernel("linode/6.2.9-x86_64-linode160", "6.2.9-x86_64-linode160", "6.2.9",
           "2023-04-03T15:35:00"),
    Kernel("linode/5.15.0-x86_64-linode153", "5.15.0-x86_64-linode153", "5.15.0",
           "2021-11-01T14:49:00", deprecated=True),
)  # fmt: skip
BY_ID = {k.id: k for k in KERNELS}
FILTERABLE = {
    "label": "str", "version": "str", "kvm": "bool", "architecture": "str", "pvops": "bool",
    "deprecated": "bool",
}  # fmt: skip

# GET /v4/maintenance/policies, as Linode answers it (slug, not id, names a policy).
MAINTENANCE_POLICIES = (
    {
        "slug": "linode/migrate",
        "label": "Migrate",
        "description": "Migrates the Linode to a new host while it remains fully operational. "
        "Recommended for maximizing availability.",
        "type": "migrate",
        "notification_period_sec": 300,
        "is_default": True,
    },
    {
        "slug": "linode/power_off_on",
        "label": "Power-off/on",
        "description": "Powers off the Linode at the start of the maintenance event and reboots "
        "it once the maintenance finishes. Recommended for maximizing performance.",
        "type": "power_off_on",
        "notification_period_sec": 1800,
        "is_default": False,
    },
)
