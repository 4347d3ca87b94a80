"""Regions offer "Disk Encryption": a Linode's and each disk's `disk_encryption` is kept.

Linode lists "Disk Encryption" among a region's capabilities where local disks can be
encrypted, and linode_api4's suite picks its regions by it (rebuild, create with
`disk_encryption`). Every region here takes the setting: it is stored on the Linode and
on each disk (decisions 31 says what the hypervisor does with it).
Added to each region's list unless it is there already, so regions an operator edited
keep their other capabilities.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

CAPABILITY = "Disk Encryption"


def _regions():
    return sa.Table("regions", sa.MetaData(), sa.Column("id", sa.String()),
                    sa.Column("capabilities", sa.JSON()))  # fmt: skip


def _change(edit):
    regions = _regions()
    bind = op.get_bind()
    for rid, caps in bind.execute(sa.select(regions.c.id, regions.c.capabilities)).all():
        new = edit(list(caps or []))
        if new != caps:
            bind.execute(regions.update().where(regions.c.id == rid).values(capabilities=new))


def upgrade():
    _change(lambda caps: caps if CAPABILITY in caps else [*caps, CAPABILITY])


def downgrade():
    _change(lambda caps: [c for c in caps if c != CAPABILITY])
