"""Address pools (per-region ranges, as data) and the addresses instances hold.

A pool is one range an operator sells from: its `network` (what addresses are taken
from), and what each address is shown with, Linode's `prefix` (so `subnet_mask`) and
`gateway`. Migration 0014 seeds every region with public IPv4 /24s out of 100.64.0.0/10
(RFC 6598 shared space), a private IPv4 block out of Linode's 192.168.128.0/17 (shown as
/17, without a gateway, as Linode shows private addresses) and an IPv6 /64 for SLAAC out
of 2001:db8::/32 (RFC 3849 documentation space): nothing anyone really routes. An
operator adds a range with one INSERT; pools of one database must not overlap.

An address is a row only while an instance holds it: `slot` is its offset in its pool's
network, unique per pool (the allocator's lowest-free query and its lock key), and the
address itself is unique across all pools, so no address is ever held twice. A freed
address leaves a `FreedSlot` behind, so the allocator finds the lowest free slot with two
index lookups (the lowest freed one, the highest held one) instead of walking every held
slot of the pool.
"""

import functools
import ipaddress
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from cloudapi.db.base import Base, utcnow

IPV4, IPV6 = "ipv4", "ipv6"
# Slots are 32-bit columns: an IPv6 /64 sells its first 2**31 - 1 addresses only.
MAX_SLOT = 2**31 - 1


class AddressPool(Base):
    __tablename__ = "address_pools"
    __table_args__ = (
        # Every IPv6 pool is SLAAC space, which Linode shows as public.
        CheckConstraint("type = 'ipv4' OR (type = 'ipv6' AND public)", name="kind"),
        Index("ix_address_pools_region", "region_id", "type", "public"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"))
    type: Mapped[str] = mapped_column(String(4))  # ipv4 | ipv6
    public: Mapped[bool] = mapped_column(Boolean)
    network: Mapped[str] = mapped_column(String(49), unique=True)  # e.g. 100.64.0.0/24
    prefix: Mapped[int] = mapped_column(Integer)  # shown as Linode's `prefix`
    gateway: Mapped[str | None] = mapped_column(String(45))

    @functools.cached_property
    def net(self):
        """The parsed `network` (parsed once: the allocator asks for it on every claim)."""
        return ipaddress.ip_network(self.network)

    def bounds(self):
        """(first, last, gateway slot or None): the slots this pool may hand out.

        The network's own address, an IPv4 broadcast address and the gateway are never
        handed out.
        """
        net = self.net
        last = net.num_addresses - (2 if net.version == 4 else 1)
        gateway = None
        if self.gateway is not None and ipaddress.ip_address(self.gateway) in net:
            gateway = int(ipaddress.ip_address(self.gateway)) - int(net.network_address)
        return 1, min(last, MAX_SLOT), gateway

    def address_at(self, slot):
        return str(self.net.network_address + slot)

    @property
    def subnet_mask(self):
        return str(ipaddress.ip_network(f"{self.net.network_address}/{self.prefix}", False).netmask)


class Address(Base):
    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("pool_id", "slot", name="uq_addresses_pool_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("address_pools.id"))
    slot: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(45), unique=True)  # compressed text form
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), index=True
    )
    rdns: Mapped[str | None] = mapped_column(String(255))  # null: the default
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    pool: Mapped[AddressPool] = relationship(lazy="joined", innerjoin=True)
    # `Instance.addresses` (a backref, so the instances model needs no change), loaded with
    # every instance in one query per batch (selectin): a page of Linodes renders its
    # addresses without a query per Linode.
    instance = relationship(
        "Instance",
        backref=backref("addresses", lazy="selectin", order_by="Address.id", passive_deletes=True),
    )

    @property
    def type(self):
        return self.pool.type

    @property
    def public(self):
        return self.pool.public


class FreedSlot(Base):
    """A slot given back (its address row deleted): a hole the allocator fills first.

    Only a hint: the allocator still claims it under the (pool, slot) unique constraint,
    and a row for a slot held again, or above the pool's highest held slot, is harmless
    (services/address_slots.py removes it when it claims that slot).
    """

    __tablename__ = "freed_slots"

    pool_id: Mapped[int] = mapped_column(
        ForeignKey("address_pools.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
