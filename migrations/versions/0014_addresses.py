"""Address pools: per-region IPv4 (public, private) and IPv6 ranges, and the addresses instances hold.

Seeds the pools of every region that exists now, in documentation and shared space that
no one routes (cloudapi/db/addresses.py). Region n (the regions of 0002, then those of
0011, in their order, then any other, by id) gets:
- public IPv4: the four /24s of 100.(64+n).0.0/22, gateway .1 of each (Linode's shape:
  prefix 24), 253 addresses each;
- private IPv4: 192.168.(128+4n).0/22 out of Linode's 192.168.128.0/17, shown as /17
  with no gateway as Linode does (n < 32: the /17 holds 32 such blocks);
- IPv6: the SLAAC /64 2001:db8:100:n::/64 (hex n), gateway fe80::1.
Instances that are live now get their addresses here, lowest first in id order, as the
allocator would have given them (their old id-derived addresses are not kept).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import ipaddress
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# 0002's regions, then 0011's, in the order those migrations inserted them.
KNOWN_REGIONS = [
    "us-east", "us-west", "eu-central", "ap-south", "ap-west", "ca-central", "ap-southeast",
    "us-iad", "us-ord", "fr-par", "us-sea", "br-gru", "nl-ams", "se-sto", "es-mad", "in-maa",
    "jp-osa", "it-mil", "us-mia", "id-cgk", "us-lax", "gb-lon", "au-mel", "in-bom-2",
    "de-fra-2", "sg-sin-2", "jp-tyo-3", "us-central", "us-southeast", "eu-west", "ap-northeast",
]  # fmt: skip
PUBLIC_PER_REGION = 4  # /24s


def _pools_table():
    return sa.table(
        "address_pools", sa.column("id", sa.Integer()), sa.column("region_id", sa.String()),
        sa.column("type", sa.String()), sa.column("public", sa.Boolean()),
        sa.column("network", sa.String()), sa.column("prefix", sa.Integer()),
        sa.column("gateway", sa.String()),
    )  # fmt: skip


def _seed_rows(region_ids):
    known = [r for r in KNOWN_REGIONS if r in region_ids]
    ordered = known + sorted(set(region_ids) - set(known))
    rows = []
    for n, region in enumerate(ordered):
        if n < 64:
            for k in range(PUBLIC_PER_REGION):
                rows.append({"region_id": region, "type": "ipv4", "public": True,
                             "network": f"100.{64 + n}.{k}.0/24", "prefix": 24,
                             "gateway": f"100.{64 + n}.{k}.1"})  # fmt: skip
        if n < 32:
            rows.append({"region_id": region, "type": "ipv4", "public": False,
                         "network": f"192.168.{128 + 4 * n}.0/22", "prefix": 17,
                         "gateway": None})  # fmt: skip
        rows.append({"region_id": region, "type": "ipv6", "public": True,
                     "network": f"2001:db8:100:{n:x}::/64", "prefix": 64,
                     "gateway": "fe80::1"})  # fmt: skip
    return rows


def _free(pool):
    """(pool id, slot, address) of each slot a pool hands out, lowest first (as
    cloudapi/db/addresses.py bounds them: not the network, broadcast or gateway address)."""
    net = ipaddress.ip_network(pool.network)
    last = min(net.num_addresses - (2 if net.version == 4 else 1), 2**31 - 1)
    gateway = None
    if pool.gateway is not None and ipaddress.ip_address(pool.gateway) in net:
        gateway = int(ipaddress.ip_address(pool.gateway)) - int(net.network_address)
    for slot in range(1, last + 1):
        if slot != gateway:
            yield pool.id, slot, str(net.network_address + slot)


def _backfill(conn):
    """Give every live instance a public IPv4, its private IPv4 if it asked, and SLAAC."""
    pools = conn.execute(sa.text(
        "SELECT id, region_id, type, public, network, gateway FROM address_pools ORDER BY id"
    )).all()  # fmt: skip
    free = {}  # (region, type, public) -> iterator of (pool id, slot, address)
    for pool in pools:
        key = (pool.region_id, pool.type, bool(pool.public))
        free[key] = _chain(free.get(key), _free(pool))
    live = conn.execute(sa.text(
        "SELECT id, region_id, private_ip FROM instances WHERE deleted_at IS NULL ORDER BY id"
    )).all()  # fmt: skip
    rows, now = [], datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    for inst in live:
        kinds = [("ipv4", True)] + ([("ipv4", False)] if inst.private_ip else []) + [("ipv6", True)]
        for kind in kinds:
            taken = next(free.get((inst.region_id, *kind)) or iter(()), None)
            if taken is None:
                raise RuntimeError(f"no {kind} address left in {inst.region_id} for {inst.id}")
            rows.append({"pool_id": taken[0], "slot": taken[1], "address": taken[2],
                         "instance_id": inst.id, "rdns": None, "created": now})  # fmt: skip
    if rows:
        op.bulk_insert(_addresses_table(), rows)


def _chain(first, then):
    if first is not None:
        yield from first
    yield from then


def _addresses_table():
    return sa.table(
        "addresses", sa.column("pool_id", sa.Integer()), sa.column("slot", sa.Integer()),
        sa.column("address", sa.String()), sa.column("instance_id", sa.Integer()),
        sa.column("rdns", sa.String()), sa.column("created", sa.DateTime()),
    )  # fmt: skip


def upgrade():
    op.create_table(
        "address_pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=4), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("network", sa.String(length=49), nullable=False),
        sa.Column("prefix", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=45), nullable=True),
        sa.CheckConstraint(
            "type = 'ipv4' OR (type = 'ipv6' AND public)", name=op.f("ck_address_pools_kind")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_address_pools_region_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_pools")),
        sa.UniqueConstraint("network", name=op.f("uq_address_pools_network")),
    )
    op.create_index("ix_address_pools_region", "address_pools", ["region_id", "type", "public"])
    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("rdns", sa.String(length=255), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["address_pools.id"], name=op.f("fk_addresses_pool_id_address_pools")
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_addresses_instance_id_instances"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
        sa.UniqueConstraint("address", name=op.f("uq_addresses_address")),
        sa.UniqueConstraint("pool_id", "slot", name="uq_addresses_pool_slot"),
    )
    op.create_index(op.f("ix_addresses_instance_id"), "addresses", ["instance_id"])
    conn = op.get_bind()
    region_ids = list(conn.execute(sa.text("SELECT id FROM regions")).scalars())
    op.bulk_insert(_pools_table(), _seed_rows(region_ids))
    _backfill(conn)


def downgrade():
    op.drop_index(op.f("ix_addresses_instance_id"), table_name="addresses")
    op.drop_table("addresses")
    op.drop_index("ix_address_pools_region", table_name="address_pools")
    op.drop_table("address_pools")
