"""The embedded default's flag state and the audit trail of every flip."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudapi.db.base import Base, utcnow


class FlagState(Base):
    """Whether a flag is on, overriding `enabled` in flags/ (embedded default only)."""

    __tablename__ = "flag_states"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    # A launch flag on in these regions only (None: everywhere), for this percentage of
    # accounts (None: as flags/ defines it).
    regions: Mapped[list | None] = mapped_column(JSON)
    rollout: Mapped[int | None] = mapped_column(Integer)
    updated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))


class FlagAudit(Base):
    """One flip: who, when, which flag, in which environment, from what to what."""

    __tablename__ = "flag_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag: Mapped[str] = mapped_column(String(128), index=True)
    environment: Mapped[str] = mapped_column(String(64))
    old_enabled: Mapped[bool | None] = mapped_column(Boolean)
    new_enabled: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(255))
    # What else the flip changed, e.g. "regions: everywhere -> us-east; rollout: 100 -> 25".
    change: Mapped[str | None] = mapped_column(String(1000))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FlagVersion(Base):
    """One row whose `version` goes up with every change that flag answers depend on.

    A flip, an account's tags and its beta enrollments bump it in the transaction that
    makes the change (cloudapi/flagging/watch.py `announce`). Each API process's flag
    watcher compares it with the version it last loaded: a cheap check that lets SQLite
    see a change a few times a second, and PostgreSQL re-check now and then in case a
    NOTIFY was missed, without re-reading flag_states on every request.
    """

    __tablename__ = "flag_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
