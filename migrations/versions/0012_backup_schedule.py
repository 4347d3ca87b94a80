"""instances keep their backups schedule; events' secondary entity ids become text

- `instances.backup_day` and `backup_window`, writable through PUT backups.schedule.
  Both are nullable: null until the customer chooses, which is what Linode answers
  while backups are off (`"schedule": {"day": null, "window": null}`).
- `events.secondary_entity_id` becomes a string, as Linode's spec has the id: a
  `linode_create` names its image, `"linode/debian12"`. Existing (Linode) ids are kept
  as their decimal text.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backup_day", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("backup_window", sa.String(length=16), nullable=True))
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column(
            "secondary_entity_id",
            existing_type=sa.Integer(),
            type_=sa.String(length=64),
            existing_nullable=True,
            postgresql_using="secondary_entity_id::text",
        )


def downgrade():
    # Ids that are not numbers (images) cannot be integers: their events lose the entity.
    events = sa.table("events", sa.column("secondary_entity_type", sa.String()),
                      sa.column("secondary_entity_id", sa.String()),
                      sa.column("secondary_entity_label", sa.String()))  # fmt: skip
    op.execute(
        events.update()
        .where(events.c.secondary_entity_type != "linode")
        .values(secondary_entity_type=None, secondary_entity_id=None, secondary_entity_label=None)
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column(
            "secondary_entity_id",
            existing_type=sa.String(length=64),
            type_=sa.Integer(),
            existing_nullable=True,
            postgresql_using="secondary_entity_id::integer",
        )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("backup_window")
        batch_op.drop_column("backup_day")
