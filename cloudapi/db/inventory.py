"""GPU inventory: hosts, their NUMA nodes and GPUs, and what each instance holds."""

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudapi.db.base import Base, utcnow

HOST_STATUSES = ("active", "maintenance", "draining")


class Host(Base):
    __tablename__ = "hosts"
    __table_args__ = (Index("ix_hosts_region_status", "region_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    uuid: Mapped[str] = mapped_column(String(40), unique=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # CPU threads kept for the host itself (emulator threads, agent), never given to guests.
    reserved_cpus: Mapped[str] = mapped_column(String(1024), default="")
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    nodes: Mapped[list["NumaNode"]] = relationship(
        back_populates="host", cascade="all, delete-orphan", order_by="NumaNode.node"
    )
    gpus: Mapped[list["Gpu"]] = relationship(
        back_populates="host", cascade="all, delete-orphan", order_by="Gpu.pci_address"
    )


class NumaNode(Base):
    """A NUMA node, with free counters kept in step with its allocations.

    The counters let placement find candidate nodes with one indexed query; `generation`
    changes on every reservation or release, so two transactions that chose the same node
    cannot both commit (compare-and-swap, as OpenStack Placement does).
    """

    __tablename__ = "numa_nodes"
    __table_args__ = (
        UniqueConstraint("host_id", "node"),
        # Matches the candidate query's ORDER BY, so best-fit nodes come off the index top.
        Index(
            "ix_numa_nodes_free", "gpus_free", "threads_free", "memory_free_mb", "host_id", "node"
        ),  # fmt: skip
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    node: Mapped[int] = mapped_column(Integer)
    cpus: Mapped[str] = mapped_column(String(1024))
    memory_mb: Mapped[int] = mapped_column(Integer)
    hugepages_1g: Mapped[int] = mapped_column(Integer, default=0)
    hugepages_2m: Mapped[int] = mapped_column(Integer, default=0)
    gpus_total: Mapped[int] = mapped_column(Integer, default=0)
    gpus_free: Mapped[int] = mapped_column(Integer, default=0)
    threads_total: Mapped[int] = mapped_column(Integer, default=0)
    threads_free: Mapped[int] = mapped_column(Integer, default=0)
    memory_free_mb: Mapped[int] = mapped_column(Integer, default=0)
    generation: Mapped[int] = mapped_column(Integer, default=0)

    host: Mapped[Host] = relationship(back_populates="nodes")


class Gpu(Base):
    __tablename__ = "gpus"
    __table_args__ = (
        UniqueConstraint("host_id", "pci_address"),
        Index("ix_gpus_node_instance", "numa_node_id", "instance_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    numa_node_id: Mapped[int] = mapped_column(ForeignKey("numa_nodes.id", ondelete="CASCADE"))
    pci_address: Mapped[str] = mapped_column(String(16))
    vendor_id: Mapped[str] = mapped_column(String(4))
    device_id: Mapped[str] = mapped_column(String(4))
    model: Mapped[str] = mapped_column(String(128))
    iommu_group: Mapped[int | None] = mapped_column(Integer)
    # Every PCI function that must pass through with this GPU (its IOMMU group).
    iommu_functions: Mapped[list] = mapped_column(JSON, default=list)
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("instances.id", ondelete="SET NULL"), index=True
    )

    host: Mapped[Host] = relationship(back_populates="gpus")


class Allocation(Base):
    """What one instance holds on one NUMA node; released exactly once."""

    __tablename__ = "allocations"
    __table_args__ = (Index("ix_allocations_node_live", "numa_node_id", "released_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), index=True
    )
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    numa_node_id: Mapped[int] = mapped_column(ForeignKey("numa_nodes.id", ondelete="CASCADE"))
    gpu_count: Mapped[int] = mapped_column(Integer)
    threads: Mapped[list] = mapped_column(JSON, default=list)
    memory_mb: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(DateTime)
