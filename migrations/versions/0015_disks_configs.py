"""Instance disks and config profiles.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _instance_fk(table):
    return sa.ForeignKeyConstraint(
        ["instance_id"],
        ["instances.id"],
        name=op.f(f"fk_{table}_instance_id_instances"),
        ondelete="CASCADE",
    )


def upgrade():
    op.create_table(
        "disks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=48), nullable=False),
        sa.Column("filesystem", sa.String(length=8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("disk_encryption", sa.String(length=16), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        _instance_fk("disks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disks")),
    )
    op.create_index(op.f("ix_disks_instance_id"), "disks", ["instance_id"], unique=False)
    op.create_table(
        "configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=48), nullable=False),
        sa.Column("kernel", sa.String(length=64), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("memory_limit", sa.Integer(), nullable=False),
        sa.Column("run_level", sa.String(length=16), nullable=False),
        sa.Column("virt_mode", sa.String(length=16), nullable=False),
        sa.Column("root_device", sa.String(length=64), nullable=False),
        sa.Column("devices", sa.JSON(), nullable=False),
        sa.Column("helpers", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        _instance_fk("configs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configs")),
    )
    op.create_index(op.f("ix_configs_instance_id"), "configs", ["instance_id"], unique=False)
    op.create_table(
        "config_interfaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("ipam_address", sa.String(length=64), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["config_id"],
            ["configs.id"],
            name=op.f("fk_config_interfaces_config_id_configs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_interfaces")),
    )
    op.create_index(
        op.f("ix_config_interfaces_config_id"), "config_interfaces", ["config_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_config_interfaces_config_id"), table_name="config_interfaces")
    op.drop_table("config_interfaces")
    op.drop_index(op.f("ix_configs_instance_id"), table_name="configs")
    op.drop_table("configs")
    op.drop_index(op.f("ix_disks_instance_id"), table_name="disks")
    op.drop_table("disks")
