"""`freed_slots`: the holes in each address pool, so allocation reads no held slot but one.

The allocator (cloudapi/services/address_slots.py) found the lowest free slot by reading every
held slot of the pool above a floor: fine for a /24, 4 ms a create at 20,000 addresses and
growing. Now a release records the slots it frees and the lowest free slot is the smaller
of the lowest freed one and the one after the highest held (two index lookups). This
migration records the holes the pools already have: every unheld slot below a pool's
highest held one, except the gateway's. docs/decisions.md 38.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

import ipaddress

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def _holes(conn):
    pools = conn.execute(sa.text("SELECT id, network, gateway FROM address_pools")).all()
    for pool_id, network, gateway in pools:
        held = set(conn.scalars(sa.text("SELECT slot FROM addresses WHERE pool_id = :p"),
                                {"p": pool_id}))  # fmt: skip
        if not held:
            continue
        net = ipaddress.ip_network(network)
        skip = set(held)
        if gateway is not None and ipaddress.ip_address(gateway) in net:
            skip.add(int(ipaddress.ip_address(gateway)) - int(net.network_address))
        for slot in range(1, max(held)):
            if slot not in skip:
                yield {"pool_id": pool_id, "slot": slot}


def upgrade():
    freed = op.create_table(
        "freed_slots",
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["address_pools.id"],
            name=op.f("fk_freed_slots_pool_id_address_pools"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("pool_id", "slot", name=op.f("pk_freed_slots")),
    )
    holes = list(_holes(op.get_bind()))
    if holes:
        op.bulk_insert(freed, holes)


def downgrade():
    op.drop_table("freed_slots")
