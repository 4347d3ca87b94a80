"""Address pools: per-region IPv4 (public, private) and IPv6 ranges, and the addresses instances hold.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
