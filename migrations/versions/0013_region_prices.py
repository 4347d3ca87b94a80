"""Regional prices for the standard plans in Jakarta (id-cgk) and Sao Paulo (br-gru).

Linode charges more in those two regions and lists it in each type's `region_prices`;
clients read it there (linode_api4's own suite asserts that some type has one). Values
(inferred): Linode's published surcharges, +20% in id-cgk and +40% in br-gru, applied to
each plan's base price; for the Nanode that is Linode's own 0.009/6.0 and 0.0105/7.0
(docs/reference/linode-api.md, section 1). GPU plans are sold in neither region and keep
none. Hourly prices are rounded to 4 decimals, monthly ones to cents.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SURCHARGES = (("id-cgk", 1.2), ("br-gru", 1.4))
CLASSES = ("nanode", "standard", "dedicated")


def _types():
    columns = ("id", "class", "price_hourly", "price_monthly")
    return sa.Table(
        "linode_types", sa.MetaData(),
        *(sa.Column(c, sa.Float() if c.startswith("price") else sa.String()) for c in columns),
        sa.Column("region_prices", sa.JSON()),
    )  # fmt: skip


def upgrade():
    table = _types()
    rows = op.get_bind().execute(
        sa.select(table.c.id, table.c.price_hourly, table.c.price_monthly).where(
            table.c["class"].in_(CLASSES)
        )
    )
    for type_id, hourly, monthly in list(rows):
        prices = [{"id": region, "hourly": round(hourly * factor, 4),
                   "monthly": round(monthly * factor, 2)} for region, factor in SURCHARGES]  # fmt: skip
        op.execute(table.update().where(table.c.id == type_id).values(region_prices=prices))


def downgrade():
    table = _types()
    op.execute(table.update().where(table.c["class"].in_(CLASSES)).values(region_prices=[]))
