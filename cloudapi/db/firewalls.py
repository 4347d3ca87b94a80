"""Cloud Firewalls, their tags, and their devices (the Linodes they are assigned to)."""

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudapi.db.base import Base, TagRow, owner_key, utcnow
from cloudapi.db.instances import Instance


class Firewall(Base):
    """A firewall and its whole ruleset, kept as one JSON document.

    The ruleset is always read and replaced whole (Linode's PUT .../rules replaces it),
    and the host agents receive it whole, so it is one column rather than rows per rule.
    A deleted firewall is deleted outright: Linode's `deleted` status is never visible.
    """

    __tablename__ = "firewalls"
    # Labels are unique among an account's firewalls; the constraint settles races.
    __table_args__ = (UniqueConstraint("account_id", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="enabled")
    # {"inbound": [...], "outbound": [...], "inbound_policy": ..., "outbound_policy": ...}
    rules: Mapped[dict] = mapped_column(JSON)
    rules_version: Mapped[int] = mapped_column(Integer, default=1)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    tags: Mapped[list["FirewallTag"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FirewallTag.tag"
    )
    devices: Mapped[list["FirewallDevice"]] = relationship(
        back_populates="firewall", cascade="all, delete-orphan", lazy="selectin",
        order_by="FirewallDevice.id",
    )  # fmt: skip

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]

    @property
    def live_devices(self) -> list["FirewallDevice"]:
        """Devices whose Linode still exists (deleted Linodes keep their row until purged)."""
        return [d for d in self.devices if d.instance is None or d.instance.deleted_at is None]


class FirewallTag(TagRow, Base):
    __tablename__ = "firewall_tags"

    firewall_id: Mapped[int] = owner_key("firewalls")


class FirewallDevice(Base):
    """One assignment of a firewall to a service; only Linodes exist here so far.

    `instance_id` is unique: a Linode is in at most one firewall (Linode: "A service can
    have one assigned Firewall at a time"), enforced by the database even under races.
    """

    __tablename__ = "firewall_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    firewall_id: Mapped[int] = mapped_column(
        ForeignKey("firewalls.id", ondelete="CASCADE"), index=True
    )
    entity_type: Mapped[str] = mapped_column(String(16), default="linode")
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), unique=True
    )
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    firewall: Mapped[Firewall] = relationship(back_populates="devices")
    instance: Mapped[Instance | None] = relationship(lazy="selectin")
