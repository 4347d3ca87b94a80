"""Betas that accounts can enroll in, and their enrollments."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudapi.db.base import Base, utcnow


class Beta(Base):
    __tablename__ = "betas"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(1024), default="")
    started: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended: Mapped[datetime | None] = mapped_column(DateTime)
    greenlight_only: Mapped[bool] = mapped_column(Boolean, default=False)
    more_info: Mapped[str] = mapped_column(String(255), default="")
    # Release managers open a beta for enrollment and close it again.
    is_open: Mapped[bool] = mapped_column(Boolean, default=False)


class AccountBeta(Base):
    __tablename__ = "account_betas"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    beta_id: Mapped[str] = mapped_column(
        ForeignKey("betas.id", ondelete="CASCADE"), primary_key=True
    )
    enrolled: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
