"""GPU inventory (hosts, NUMA nodes, GPUs, allocations); "GPU Linodes" becomes derived.

A region lists "GPU Linodes" when it has an active GPU host, so the stored capability goes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:31:19.782310
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "hosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("uuid", sa.String(length=40), nullable=False),
        sa.Column("region_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reserved_cpus", sa.String(length=1024), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name=op.f("fk_hosts_region_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosts")),
        sa.UniqueConstraint("hostname", name=op.f("uq_hosts_hostname")),
        sa.UniqueConstraint("uuid", name=op.f("uq_hosts_uuid")),
    )
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.create_index("ix_hosts_region_status", ["region_id", "status"], unique=False)

    op.create_table(
        "numa_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.Integer(), nullable=False),
        sa.Column("cpus", sa.String(length=1024), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("hugepages_1g", sa.Integer(), nullable=False),
        sa.Column("hugepages_2m", sa.Integer(), nullable=False),
        sa.Column("gpus_total", sa.Integer(), nullable=False),
        sa.Column("gpus_free", sa.Integer(), nullable=False),
        sa.Column("threads_total", sa.Integer(), nullable=False),
        sa.Column("threads_free", sa.Integer(), nullable=False),
        sa.Column("memory_free_mb", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_numa_nodes_host_id_hosts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_numa_nodes")),
        sa.UniqueConstraint("host_id", "node", name=op.f("uq_numa_nodes_host_id")),
    )
    with op.batch_alter_table("numa_nodes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_numa_nodes_free",
            ["gpus_free", "threads_free", "memory_free_mb", "host_id", "node"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_numa_nodes_host_id"), ["host_id"], unique=False)

    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("numa_node_id", sa.Integer(), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("threads", sa.JSON(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_allocations_host_id_hosts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_allocations_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["numa_node_id"],
            ["numa_nodes.id"],
            name=op.f("fk_allocations_numa_node_id_numa_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocations_instance_id"), ["instance_id"], unique=False
        )
        batch_op.create_index(
            "ix_allocations_node_live", ["numa_node_id", "released_at"], unique=False
        )

    op.create_table(
        "gpus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("numa_node_id", sa.Integer(), nullable=False),
        sa.Column("pci_address", sa.String(length=16), nullable=False),
        sa.Column("vendor_id", sa.String(length=4), nullable=False),
        sa.Column("device_id", sa.String(length=4), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("iommu_group", sa.Integer(), nullable=True),
        sa.Column("iommu_functions", sa.JSON(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["host_id"], ["hosts.id"], name=op.f("fk_gpus_host_id_hosts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_gpus_instance_id_instances"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["numa_node_id"],
            ["numa_nodes.id"],
            name=op.f("fk_gpus_numa_node_id_numa_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gpus")),
        sa.UniqueConstraint("host_id", "pci_address", name=op.f("uq_gpus_host_id")),
    )
    with op.batch_alter_table("gpus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gpus_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(
            "ix_gpus_node_instance", ["numa_node_id", "instance_id"], unique=False
        )

    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_instances_host_id_hosts"), "hosts", ["host_id"], ["id"]
        )

    _set_gpu_capability(False)


def _set_gpu_capability(present, region_ids=("us-east", "eu-central", "ap-south")):
    regions = sa.table("regions", sa.column("id", sa.String), sa.column("capabilities", sa.JSON))
    conn = op.get_bind()
    for region_id, caps in conn.execute(sa.select(regions.c.id, regions.c.capabilities)):
        caps = [c for c in caps if c != "GPU Linodes"]
        if present and region_id in region_ids:
            caps.append("GPU Linodes")
        conn.execute(regions.update().where(regions.c.id == region_id).values(capabilities=caps))


def downgrade():
    _set_gpu_capability(True)
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_instances_host_id_hosts"), type_="foreignkey")
        batch_op.drop_column("host_id")

    with op.batch_alter_table("gpus", schema=None) as batch_op:
        batch_op.drop_index("ix_gpus_node_instance")
        batch_op.drop_index(batch_op.f("ix_gpus_instance_id"))

    op.drop_table("gpus")
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_allocations_node_live")
        batch_op.drop_index(batch_op.f("ix_allocations_instance_id"))

    op.drop_table("allocations")
    with op.batch_alter_table("numa_nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_numa_nodes_host_id"))
        batch_op.drop_index("ix_numa_nodes_free")

    op.drop_table("numa_nodes")
    with op.batch_alter_table("hosts", schema=None) as batch_op:
        batch_op.drop_index("ix_hosts_region_status")

    op.drop_table("hosts")
