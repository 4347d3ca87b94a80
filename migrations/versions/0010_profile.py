"""profile and account surface: SSH keys, preferences, explicit tags, account settings;
tokens keep their first 16 characters for listings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _account_fk(table):
    return sa.ForeignKeyConstraint(
        ["account_id"],
        ["accounts.id"],
        name=op.f(f"fk_{table}_account_id_accounts"),
        ondelete="CASCADE",
    )


def upgrade():
    op.create_table(
        "ssh_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("ssh_key", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        _account_fk("ssh_keys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ssh_keys")),
    )
    with op.batch_alter_table("ssh_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ssh_keys_account_id"), ["account_id"], unique=False)
    op.create_table(
        "profile_preferences",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        _account_fk("profile_preferences"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_profile_preferences")),
    )
    op.create_table(
        "tags",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=50), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        _account_fk("tags"),
        sa.PrimaryKeyConstraint("account_id", "label", name=op.f("pk_tags")),
    )
    op.create_table(
        "account_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("backups_enabled", sa.Boolean(), nullable=False),
        sa.Column("network_helper", sa.Boolean(), nullable=False),
        sa.Column("interfaces_for_new_linodes", sa.String(length=64), nullable=False),
        sa.Column("maintenance_policy", sa.String(length=32), nullable=False),
        _account_fk("account_settings"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_settings")),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prefix", sa.String(length=16), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("prefix")
    op.drop_table("account_settings")
    op.drop_table("tags")
    op.drop_table("profile_preferences")
    with op.batch_alter_table("ssh_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ssh_keys_account_id"))
    op.drop_table("ssh_keys")
