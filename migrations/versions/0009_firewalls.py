"""cloud firewalls: firewalls, their tags and devices; events get a secondary entity

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "firewalls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_firewalls_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firewalls")),
        sa.UniqueConstraint("account_id", "label", name=op.f("uq_firewalls_account_id")),
    )
    op.create_table(
        "firewall_tags",
        sa.Column("firewall_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["firewall_id"],
            ["firewalls.id"],
            name=op.f("fk_firewall_tags_firewall_id_firewalls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("firewall_id", "tag", name=op.f("pk_firewall_tags")),
    )
    op.create_table(
        "firewall_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firewall_id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firewall_id"],
            ["firewalls.id"],
            name=op.f("fk_firewall_devices_firewall_id_firewalls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_firewall_devices_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firewall_devices")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_firewall_devices_instance_id")),
    )
    with op.batch_alter_table("firewall_devices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_firewall_devices_firewall_id"), ["firewall_id"], unique=False
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secondary_entity_type", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("secondary_entity_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("secondary_entity_label", sa.String(length=64), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("secondary_entity_label")
        batch_op.drop_column("secondary_entity_id")
        batch_op.drop_column("secondary_entity_type")
    with op.batch_alter_table("firewall_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_firewall_devices_firewall_id"))
    op.drop_table("firewall_devices")
    op.drop_table("firewall_tags")
    op.drop_table("firewalls")
