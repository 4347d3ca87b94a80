"""Accounts, their tags and their API tokens."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudapi.db.base import Base, utcnow


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    euuid: Mapped[str] = mapped_column(String(36), unique=True)
    company: Mapped[str] = mapped_column(String(128), default="")
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    tags: Mapped[list["AccountTag"]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def tag_names(self) -> list[str]:
        return sorted(t.tag for t in self.tags)


class AccountTag(Base):
    __tablename__ = "account_tags"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)

    account: Mapped[Account] = relationship(back_populates="tags")


class Token(Base):
    """An API token. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # A host agent's credential: reaches /internal only, for jobs of this host.
    host: Mapped[str | None] = mapped_column(String(253))
    scopes: Mapped[str] = mapped_column(String(512), default="*")
    label: Mapped[str] = mapped_column(String(100), default="")
    # The first 16 characters, which /profile/tokens shows as Linode does (never the rest).
    prefix: Mapped[str] = mapped_column(String(16), default="")
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expiry: Mapped[datetime | None] = mapped_column(DateTime)

    account: Mapped[Account | None] = relationship(lazy="joined")
