"""Host agents' public keys: a job's secrets are sealed to them at the outbox.

Each agent identity (a GPU host's name, or `pool.<region>`) registers the public half of
the key pairs it makes (PUT /internal/agents/key); the newest is the one new jobs are
sealed to, and the agent keeps its older private keys, so jobs sealed before a rotation
still open (docs/decisions.md 32).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "agent_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=253), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_keys")),
        sa.UniqueConstraint("agent", "key_id", name=op.f("uq_agent_keys_agent")),
    )
    op.create_index(op.f("ix_agent_keys_agent"), "agent_keys", ["agent"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_agent_keys_agent"), table_name="agent_keys")
    op.drop_table("agent_keys")
