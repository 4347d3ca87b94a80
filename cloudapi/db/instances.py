"""Linode instances and their tags."""

import functools
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudapi.db.adopted import columns_of, row_of
from cloudapi.db.base import Base, TagRow, owner_key, utcnow


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_account_live", "account_id", "deleted_at"),
        # Labels are unique among an account's live instances; deleted ones free theirs.
        Index(
            "uq_instances_live_label",
            "account_id",
            "label",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # The list's page (by id) and its count: live rows only (migration 0021).
        Index(
            "ix_instances_live_page",
            "account_id",
            "id",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column("group_name", String(64), default="")
    type_id: Mapped[str] = mapped_column(ForeignKey("linode_types.id"))
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"))
    image_id: Mapped[str | None] = mapped_column(ForeignKey("images.id"))
    status: Mapped[str] = mapped_column(String(32))
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    host_uuid: Mapped[str | None] = mapped_column(String(40))
    has_user_data: Mapped[bool] = mapped_column(Boolean, default=False)
    watchdog_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    backups_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The backups schedule the customer chose (PUT backups.schedule); null until then.
    backup_day: Mapped[str | None] = mapped_column(String(16))  # Sunday..Saturday
    backup_window: Mapped[str | None] = mapped_column(String(16))  # W0, W2, ... W22
    private_ip: Mapped[bool] = mapped_column(Boolean, default=False)
    swap_size: Mapped[int] = mapped_column(Integer, default=512)
    disk_encryption: Mapped[str] = mapped_column(String(16), default="disabled")
    maintenance_policy: Mapped[str] = mapped_column(String(32), default="linode/migrate")
    alerts: Mapped[dict] = mapped_column(JSON, default=dict)
    # GPU plans only: "strict" (one NUMA node or fail) or "preferred" (best effort).
    numa_affinity: Mapped[str | None] = mapped_column(String(16))
    # The GPU host the instance was placed on (GPU plans only).
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id"))

    tags: Mapped[list["InstanceTag"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceTag.tag"
    )

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]


class InstanceTag(TagRow, Base):
    __tablename__ = "instance_tags"

    instance_id: Mapped[int] = owner_key("instances")


class IdempotencyRequest(Base):
    """A create made with an Idempotency-Key, bound to its request and its first answer.

    The row is claimed (inserted) first in the create's own transaction, so a concurrent
    create with the same key waits on the primary key and then replays `response`, and a
    create that fails leaves no row. `request_hash` binds the key to one request body;
    `response` is kept so that a replay after the instance is gone answers the same.
    """

    __tablename__ = "idempotency_requests"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    # Null while the create is in flight (never seen by others), and if the row outlives it.
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="SET NULL"))
    response: Mapped[dict | None] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def insert_new(session, values, tags):
    """PostgreSQL: insert an instance and its tags in one statement, the id taken from the
    sequence in it and the label `linode<id>` unless `values` has one; the row returned
    (every column) is what was inserted.

    One round trip where the ORM takes three (the id, the instance, its tags).
    """
    row = row_of(Instance, **values)
    label = row.pop("label") or None
    row.pop("id")
    params = {f"i_{k}": v for k, v in row.items()}
    new_id = session.execute(
        _new_instance(), {**params, "i_label": label, "tags": tags}
    ).scalar_one()
    return {**row, "id": new_id, "label": label or f"linode{new_id}"}


@functools.cache
def _new_instance():
    """insert_new's statement, built once."""
    instances, tags = Instance.__table__, InstanceTag.__table__
    new = select(func.nextval(func.pg_get_serial_sequence("instances", "id")).label("id"))
    new = new.cte("new")
    default_label = literal("linode") + cast(new.c.id, String)
    label = func.coalesce(bindparam("i_label", type_=String), default_label)
    rest = [(key, c) for key, c in columns_of(Instance) if key not in ("id", "label")]
    source = select(new.c.id, label, *(bindparam(f"i_{k}", type_=c.type) for k, c in rest))
    named = ["id", "label", *(c.key for _, c in rest)]
    statement = insert(instances).from_select(named, source)
    tagged = select(new.c.id, func.unnest(bindparam("tags", type_=ARRAY(String))))
    tagging = insert(tags).from_select(["instance_id", "tag"], tagged).cte("tagging")
    return statement.returning(instances.c.id).add_cte(tagging)
