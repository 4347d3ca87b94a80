"""Linode's catalog: its core regions and public images; capabilities only for what exists.

Sources, recorded as the issue asks:
- Regions: Linode's public `GET /v4/regions` (ids, labels, countries) as listed in Linode's
  API reference and used by linode-cli's and linode_api4's integration suites (`us-ord`,
  `us-sea`, `us-mia`, `us-southeast`, ...). All are `core` sites.
- Images: Linode's public `GET /v4/images` ids (`linode/<distro><version>`), the ones the
  official clients' suites deploy (`linode/alpine3.20`, `linode/alpine3.22`, `linode/arch`,
  `linode/debian11`, `linode/debian12`, `linode/ubuntu24.04`) and the other current ones.
- Capabilities: only products this cloud serves: "Linodes", "Metadata" (user data) and
  "Cloud Firewall". "GPU Linodes" is never stored: it is derived from the GPU inventory
  (decisions 18). "Block Storage" and "Vlans" are dropped: neither product exists here.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OLD_CAPS = ["Linodes", "Block Storage", "Vlans", "Metadata", "Cloud Firewall"]
CAPS = ["Linodes", "Metadata", "Cloud Firewall"]
OLD_REGIONS = ("us-east", "us-west", "eu-central", "ap-south")

# id, label, country (Linode's core regions besides the four in 0002)
REGIONS = [
    ("ap-west", "Mumbai, IN", "in"),
    ("ca-central", "Toronto, CA", "ca"),
    ("ap-southeast", "Sydney, AU", "au"),
    ("us-iad", "Washington, DC", "us"),
    ("us-ord", "Chicago, IL", "us"),
    ("fr-par", "Paris, FR", "fr"),
    ("us-sea", "Seattle, WA", "us"),
    ("br-gru", "Sao Paulo, BR", "br"),
    ("nl-ams", "Amsterdam, NL", "nl"),
    ("se-sto", "Stockholm, SE", "se"),
    ("es-mad", "Madrid, ES", "es"),
    ("in-maa", "Chennai, IN", "in"),
    ("jp-osa", "Osaka, JP", "jp"),
    ("it-mil", "Milan, IT", "it"),
    ("us-mia", "Miami, FL", "us"),
    ("id-cgk", "Jakarta, ID", "id"),
    ("us-lax", "Los Angeles, CA", "us"),
    ("gb-lon", "London 2, UK", "gb"),
    ("au-mel", "Melbourne, AU", "au"),
    ("in-bom-2", "Mumbai 2, IN", "in"),
    ("de-fra-2", "Frankfurt 2, DE", "de"),
    ("sg-sin-2", "Singapore 2, SG", "sg"),
    ("jp-tyo-3", "Tokyo 3, JP", "jp"),
    ("us-central", "Dallas, TX", "us"),
    ("us-southeast", "Atlanta, GA", "us"),
    ("eu-west", "London, UK", "gb"),
    ("ap-northeast", "Tokyo 2, JP", "jp"),
]

# id, label, vendor, size MB, created, deprecated, eol
IMAGES = [
    ("linode/alpine3.20", "Alpine 3.20", "Alpine", 300, "2024-05-22T00:00:00", False, "2026-04-01T04:00:00"),
    ("linode/alpine3.21", "Alpine 3.21", "Alpine", 300, "2024-12-05T00:00:00", False, "2026-11-01T04:00:00"),
    ("linode/alpine3.22", "Alpine 3.22", "Alpine", 300, "2025-05-30T00:00:00", False, "2027-05-01T04:00:00"),
    ("linode/arch", "Arch Linux", "Arch", 1500, "2014-09-24T00:00:00", False, None),
    ("linode/centos-stream9", "CentOS Stream 9", "CentOS", 2500, "2022-03-08T00:00:00", False, "2027-05-31T04:00:00"),
    ("linode/debian10", "Debian 10", "Debian", 1100, "2019-07-08T00:00:00", True, "2024-06-30T04:00:00"),
    ("linode/fedora41", "Fedora 41", "Fedora", 2500, "2024-10-29T00:00:00", False, "2025-11-19T05:00:00"),
    ("linode/fedora42", "Fedora 42", "Fedora", 2500, "2025-04-15T00:00:00", False, "2026-05-13T04:00:00"),
    ("linode/gentoo", "Gentoo", "Gentoo", 5500, "2014-09-29T00:00:00", False, None),
    ("linode/kali", "Kali Linux", "Kali", 1700, "2019-02-19T00:00:00", False, None),
    ("linode/opensuse15.6", "openSUSE Leap 15.6", "openSUSE", 2300, "2024-06-12T00:00:00", False, "2025-12-31T05:00:00"),
    ("linode/rocky8", "Rocky Linux 8", "Rocky", 2400, "2021-06-24T00:00:00", False, "2029-05-31T04:00:00"),
    ("linode/almalinux8", "AlmaLinux 8", "AlmaLinux", 2400, "2021-04-01T00:00:00", False, "2029-03-01T05:00:00"),
    ("linode/slackware15.0", "Slackware 15.0", "Slackware", 1600, "2022-02-09T00:00:00", False, None),
    ("linode/ubuntu20.04", "Ubuntu 20.04 LTS", "Ubuntu", 2200, "2020-04-23T00:00:00", False, "2025-05-31T04:00:00"),
]  # fmt: skip

CORE = {"status": "ok", "site_type": "core"}


def _regions_table():
    json = sa.JSON()
    columns = ["id", "label", "country", "capabilities", "status", "site_type",
               "resolvers_ipv4", "resolvers_ipv6"]  # fmt: skip
    return sa.Table(
        "regions", sa.MetaData(),
        *(sa.Column(c, json if c == "capabilities" else sa.String()) for c in columns),
    )  # fmt: skip


def _images_table():
    types = {"capabilities": sa.JSON(), "created": sa.DateTime(), "eol": sa.DateTime(),
             "deprecated": sa.Boolean(), "size": sa.Integer()}  # fmt: skip
    columns = ["id", "label", "vendor", "size", "description", "created", "eol", "deprecated",
               "capabilities"]  # fmt: skip
    return sa.Table(
        "images", sa.MetaData(), *(sa.Column(c, types.get(c, sa.String())) for c in columns)
    )


def _when(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S") if text else None


def upgrade():
    regions = _regions_table()
    op.execute(regions.update().where(regions.c.id.in_(OLD_REGIONS)).values(capabilities=CAPS))
    op.bulk_insert(regions, [
        {"id": rid, "label": label, "country": country, "capabilities": CAPS, **CORE,
         "resolvers_ipv4": f"192.0.2.{10 + i},192.0.2.{110 + i}",
         "resolvers_ipv6": f"2001:db8:{10 + i}::1,2001:db8:{10 + i}::2"}
        for i, (rid, label, country) in enumerate(REGIONS)
    ])  # fmt: skip
    op.bulk_insert(_images_table(), [
        {"id": iid, "label": label, "vendor": vendor, "size": size, "description": "",
         "created": _when(created), "eol": _when(eol), "deprecated": deprecated,
         "capabilities": ["cloud-init"]}
        for iid, label, vendor, size, created, deprecated, eol in IMAGES
    ])  # fmt: skip


def downgrade():
    images, regions = _images_table(), _regions_table()
    op.execute(images.delete().where(images.c.id.in_([i[0] for i in IMAGES])))
    op.execute(regions.delete().where(regions.c.id.in_([r[0] for r in REGIONS])))
    for rid in OLD_REGIONS:  # as 0002 stored them: "GPU Linodes" where it put GPUs
        caps = OLD_CAPS + ([] if rid == "us-west" else ["GPU Linodes"])
        op.execute(regions.update().where(regions.c.id == rid).values(capabilities=caps))
