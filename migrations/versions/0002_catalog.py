"""The catalog: plan types (standard, dedicated, RTX6000 GPU), regions and public images.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GPU = "gpu-linodes"

# id, label, class, vcpus, memory, disk, transfer, network_out, $/h, $/mo, backups $/h, $/mo,
# required feature
TYPES = [
    ("g6-nanode-1", "Nanode 1GB", "nanode", 1, 1024, 25600, 1000, 1000, 0.0075, 5.0, 0.003, 2.0, None),
    ("g6-standard-1", "Linode 2GB", "standard", 1, 2048, 51200, 2000, 2000, 0.018, 12.0, 0.004, 2.5, None),
    ("g6-standard-2", "Linode 4GB", "standard", 2, 4096, 81920, 4000, 4000, 0.036, 24.0, 0.008, 5.0, None),
    ("g6-standard-4", "Linode 8GB", "standard", 4, 8192, 163840, 5000, 5000, 0.072, 48.0, 0.015, 10.0, None),
    ("g6-standard-6", "Linode 16GB", "standard", 6, 16384, 327680, 8000, 6000, 0.144, 96.0, 0.03, 20.0, None),
    ("g6-dedicated-2", "Dedicated 4GB", "dedicated", 2, 4096, 81920, 4000, 4000, 0.054, 36.0, 0.008, 5.0, None),
    ("g6-dedicated-4", "Dedicated 8GB", "dedicated", 4, 8192, 163840, 5000, 5000, 0.108, 72.0, 0.015, 10.0, None),
    ("g6-dedicated-8", "Dedicated 16GB", "dedicated", 8, 16384, 327680, 6000, 6000, 0.216, 144.0, 0.03, 20.0, None),
    ("g1-gpu-rtx6000-1", "Dedicated 32GB + RTX6000 GPU x1", "gpu", 8, 32768, 655360, 16000, 10000, 1.5, 1000.0, 0.06, 40.0, GPU),
    ("g1-gpu-rtx6000-2", "Dedicated 64GB + RTX6000 GPU x2", "gpu", 16, 65536, 1310720, 20000, 10000, 3.0, 2000.0, 0.12, 80.0, GPU),
    ("g1-gpu-rtx6000-3", "Dedicated 96GB + RTX6000 GPU x3", "gpu", 20, 98304, 1966080, 20000, 10000, 4.5, 3000.0, 0.18, 120.0, GPU),
    ("g1-gpu-rtx6000-4", "Dedicated 128GB + RTX6000 GPU x4", "gpu", 24, 131072, 2621440, 20000, 10000, 6.0, 4000.0, 0.24, 160.0, GPU),
]  # fmt: skip
GPUS = {"g1-gpu-rtx6000-1": 1, "g1-gpu-rtx6000-2": 2, "g1-gpu-rtx6000-3": 3, "g1-gpu-rtx6000-4": 4}

BASE_CAPS = ["Linodes", "Block Storage", "Vlans", "Metadata", "Cloud Firewall"]
# id, label, country, has GPUs, resolver octet
REGIONS = [
    ("us-east", "Newark, NJ", "us", True, 1),
    ("us-west", "Fremont, CA", "us", False, 2),
    ("eu-central", "Frankfurt, DE", "de", True, 3),
    ("ap-south", "Singapore, SG", "sg", True, 4),
]

# id, label, vendor, size MB, created, deprecated, eol
IMAGES = [
    ("linode/debian12", "Debian 12", "Debian", 1300, "2023-06-12T00:00:00", False, "2028-06-30T04:00:00"),
    ("linode/debian11", "Debian 11", "Debian", 1200, "2021-08-14T00:00:00", False, "2026-08-31T04:00:00"),
    ("linode/ubuntu24.04", "Ubuntu 24.04 LTS", "Ubuntu", 2800, "2024-04-25T00:00:00", False, "2029-05-31T04:00:00"),
    ("linode/ubuntu22.04", "Ubuntu 22.04 LTS", "Ubuntu", 2500, "2022-04-21T00:00:00", False, "2027-04-30T04:00:00"),
    ("linode/almalinux9", "AlmaLinux 9", "AlmaLinux", 2700, "2022-05-26T00:00:00", False, "2032-05-31T04:00:00"),
    ("linode/rocky9", "Rocky Linux 9", "Rocky", 2600, "2022-07-14T00:00:00", False, "2032-05-31T04:00:00"),
    ("linode/centos7", "CentOS 7", "CentOS", 2500, "2014-07-07T00:00:00", True, "2024-06-30T04:00:00"),
]  # fmt: skip


def _table(name, columns, typed):
    """A lightweight table for bulk inserts; `typed` names the columns that need binding."""
    return sa.Table(
        name, sa.MetaData(), *(sa.Column(c, typed.get(c, sa.types.NullType())) for c in columns)
    )


def _when(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")


TYPE_COLUMNS = [
    "id",
    "label",
    "class",
    "vcpus",
    "memory",
    "disk",
    "transfer",
    "network_out",
    "price_hourly",
    "price_monthly",
    "backups_hourly",
    "backups_monthly",
    "required_feature",
]


def upgrade():
    json = sa.JSON()
    types = []
    for values in TYPES:
        row = dict(zip(TYPE_COLUMNS, values, strict=True))
        row.update(gpus=GPUS.get(row["id"], 0), accelerated_devices=0, region_prices=[])
        row["successor"] = None
        types.append(row)
    op.bulk_insert(
        _table("linode_types", [*types[0]], {"region_prices": json}),
        types,
    )
    regions = [
        {
            "id": rid, "label": label, "country": country,
            "capabilities": BASE_CAPS + (["GPU Linodes"] if gpu else []),
            "status": "ok", "site_type": "core",
            "resolvers_ipv4": f"192.0.2.{octet},192.0.2.{octet + 100}",
            "resolvers_ipv6": f"2001:db8:{octet}::1,2001:db8:{octet}::2",
        }
        for rid, label, country, gpu, octet in REGIONS
    ]  # fmt: skip
    op.bulk_insert(_table("regions", [*regions[0]], {"capabilities": json}), regions)
    images = [
        {
            "id": iid, "label": label, "vendor": vendor, "size": size, "description": "",
            "created": _when(created), "eol": _when(eol), "deprecated": deprecated,
            "capabilities": ["cloud-init"],
        }
        for iid, label, vendor, size, created, deprecated, eol in IMAGES
    ]  # fmt: skip
    dates = {"created": sa.DateTime(), "eol": sa.DateTime(), "deprecated": sa.Boolean()}
    op.bulk_insert(_table("images", [*images[0]], {"capabilities": json, **dates}), images)


def downgrade():
    for table in ("images", "regions", "linode_types"):
        op.execute(sa.text(f"DELETE FROM {table}"))
