"""`flag_versions`: one row bumped with every flip, account tag or beta enrollment change.

Each API process's flag watcher (cloudapi/flagging/watch.py) checks it to learn that
something flag answers depend on has changed, and only then re-reads `flag_states`: a few
times a second on SQLite, every few seconds on PostgreSQL (which is told at once by
LISTEN/NOTIFY; the check covers a missed notification). docs/decisions.md 33.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "flag_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_versions")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0}])


def downgrade():
    op.drop_table("flag_versions")
