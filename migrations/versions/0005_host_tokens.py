"""host agent credentials

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 10:51:14.988500
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(length=253), nullable=True))


def downgrade():
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("host")
