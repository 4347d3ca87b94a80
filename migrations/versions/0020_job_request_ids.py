"""`jobs.request_id`: the trace id of the request that wrote the job, indexed.

`cloudapi jobs trace REQUEST_ID` finds a request's jobs by it; the relay carries it in
the job's message and the agent logs it (cloudapi/tracing.py, docs/jobs.md). Jobs
written before this revision, or outside a request (the CLI), have none.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_jobs_request_id"), ["request_id"], unique=False)


def downgrade():
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_request_id"))
        batch_op.drop_column("request_id")
