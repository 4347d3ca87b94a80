"""`ix_instances_live_page`: an account's live instances by id, for the list's page.

GET /linode/instances reads `... WHERE account_id = ? AND deleted_at IS NULL ORDER BY id
LIMIT ? OFFSET ?` and counts the same rows (cloudapi/db/row_pages.py). With only
(account_id, deleted_at) PostgreSQL either sorted every live row of the account (10,000
rows for a page of 100) or walked the primary key past other accounts' rows; this
partial index gives the page in order and an index-only count. docs/decisions.md 37.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade():
    op.create_index("ix_instances_live_page", "instances", ["account_id", "id"], unique=False,
                    sqlite_where=LIVE, postgresql_where=LIVE)  # fmt: skip


def downgrade():
    op.drop_index("ix_instances_live_page", table_name="instances")
