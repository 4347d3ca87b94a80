"""An instance's disks and its configuration profiles (with their legacy interfaces)."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudapi.db.base import Base, instance_ref, utcnow

# A config's device slots, as Linode's spec lists them (KVM names them sda..sdh).
SLOTS = ("sda", "sdb", "sdc", "sdd", "sde", "sdf", "sdg", "sdh")


class Disk(Base):
    """One disk of an instance. Its size counts against the plan's disk from its create
    until its delete finishes; `status` is Linode's: `not ready` while a job works on
    it, `deleting` while its delete runs, else `ready`."""

    __tablename__ = "disks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = instance_ref()
    label: Mapped[str] = mapped_column(String(48))
    filesystem: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(Integer)  # MB
    status: Mapped[str] = mapped_column(String(16), default="ready")
    disk_encryption: Mapped[str] = mapped_column(String(16), default="disabled")
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Config(Base):
    """A configuration profile: what a boot of the instance uses.

    `devices` maps slot names to disk ids (a slot left out is empty); it is JSON rather
    than rows because it is always read and replaced whole, as Linode's PUT does, and
    a disk's delete clears the slots naming it (services/storage.py).
    """

    __tablename__ = "configs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = instance_ref()
    label: Mapped[str] = mapped_column(String(48))
    kernel: Mapped[str] = mapped_column(String(64))
    comments: Mapped[str] = mapped_column(Text, default="")
    memory_limit: Mapped[int] = mapped_column(Integer, default=0)
    run_level: Mapped[str] = mapped_column(String(16), default="default")
    virt_mode: Mapped[str] = mapped_column(String(16), default="paravirt")
    root_device: Mapped[str] = mapped_column(String(64), default="/dev/sda")
    devices: Mapped[dict] = mapped_column(JSON, default=dict)
    helpers: Mapped[dict] = mapped_column(JSON, default=dict)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    interfaces: Mapped[list["ConfigInterface"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ConfigInterface.position"
    )


class ConfigInterface(Base):
    """A legacy interface of a config (eth0, eth1, eth2 by `position`).

    Only `public` and `vlan` interfaces can exist here (no VPC subnet exists, so a `vpc`
    one is refused when sent), which is why no VPC columns are kept.
    """

    __tablename__ = "config_interfaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("configs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(8))
    label: Mapped[str | None] = mapped_column(String(64))
    ipam_address: Mapped[str | None] = mapped_column(String(64))
    primary: Mapped[bool] = mapped_column("is_primary", Boolean, default=False)
