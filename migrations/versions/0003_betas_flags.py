"""Betas (with the GPU beta, closed), flag state and audit, numa_affinity.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:09:21.981735
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "betas",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("started", sa.DateTime(), nullable=False),
        sa.Column("ended", sa.DateTime(), nullable=True),
        sa.Column("greenlight_only", sa.Boolean(), nullable=False),
        sa.Column("more_info", sa.String(length=255), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_betas")),
    )
    op.create_table(
        "flag_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag", sa.String(length=128), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("old_enabled", sa.Boolean(), nullable=True),
        sa.Column("new_enabled", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_audit")),
    )
    with op.batch_alter_table("flag_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_audit_flag"), ["flag"], unique=False)

    op.create_table(
        "flag_states",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_flag_states")),
    )
    op.create_table(
        "account_betas",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("beta_id", sa.String(length=64), nullable=False),
        sa.Column("enrolled", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_betas_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["beta_id"],
            ["betas.id"],
            name=op.f("fk_account_betas_beta_id_betas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "beta_id", name=op.f("pk_account_betas")),
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("numa_affinity", sa.String(length=16), nullable=True))
    betas = sa.Table(
        "betas", sa.MetaData(),
        *(sa.Column(n) for n in ("id", "label", "description", "more_info", "greenlight_only",
                                  "is_open")),
        sa.Column("started", sa.DateTime()), sa.Column("ended", sa.DateTime()),
    )  # fmt: skip
    op.bulk_insert(betas, [{
        "id": "gpu-beta", "label": "GPU Linodes Beta",
        "description": "Early access to Dedicated + RTX6000 GPU plans.",
        "more_info": "https://www.linode.com/products/gpu/", "greenlight_only": False,
        "is_open": False, "started": datetime(2026, 11, 29), "ended": None,
    }])  # fmt: skip


def downgrade():
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("numa_affinity")

    op.drop_table("account_betas")
    op.drop_table("flag_states")
    with op.batch_alter_table("flag_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_audit_flag"))

    op.drop_table("flag_audit")
    op.drop_table("betas")
