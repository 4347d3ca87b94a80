"""The embedded default's flag state and the audit trail of every flip."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudapi.db.base import Base, utcnow


class FlagState(Base):
    """Whether a flag is on, overriding `enabled` in flags/ (embedded default only)."""

    __tablename__ = "flag_states"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
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
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
