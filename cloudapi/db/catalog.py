"""The public catalog: plan types, regions and images."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudapi.db.base import Base


class LinodeType(Base):
    __tablename__ = "linode_types"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(128))
    type_class: Mapped[str] = mapped_column("class", String(32))
    disk: Mapped[int] = mapped_column(Integer)
    memory: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    accelerated_devices: Mapped[int] = mapped_column(Integer, default=0)
    network_out: Mapped[int] = mapped_column(Integer)
    transfer: Mapped[int] = mapped_column(Integer)
    price_hourly: Mapped[float] = mapped_column(Float)
    price_monthly: Mapped[float] = mapped_column(Float)
    backups_hourly: Mapped[float] = mapped_column(Float)
    backups_monthly: Mapped[float] = mapped_column(Float)
    region_prices: Mapped[list] = mapped_column(JSON, default=list)
    successor: Mapped[str | None] = mapped_column(String(64))
    # The feature an account must have to see or use this plan; None means everyone.
    required_feature: Mapped[str | None] = mapped_column(String(64))
    # The PCI device ids of the GPUs this plan's instances get (None: any GPU).
    gpu_device_ids: Mapped[list | None] = mapped_column(JSON)


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(128))
    country: Mapped[str] = mapped_column(String(2))
    capabilities: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="ok")
    resolvers_ipv4: Mapped[str] = mapped_column(String(255))
    resolvers_ipv6: Mapped[str] = mapped_column(String(255))
    site_type: Mapped[str] = mapped_column(String(16), default="core")


class Image(Base):
    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(255), default="")
    vendor: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(DateTime)
    eol: Mapped[datetime | None] = mapped_column(DateTime)
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)
    capabilities: Mapped[list] = mapped_column(JSON, default=list)
