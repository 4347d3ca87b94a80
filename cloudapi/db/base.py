"""Declarative base shared by every model."""

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Now in UTC, naive and whole seconds: the precision Linode timestamps carry."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def precise_utcnow() -> datetime:
    """Now in UTC, naive, with microseconds: for ordering rows written in the same second."""
    return datetime.now(UTC).replace(tzinfo=None)


def instance_ref():
    """An indexed column naming the instance a row belongs to, deleted with it."""
    return mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)


def owner_key(table):
    """A primary-key column naming its owner's row in `table`, deleted with that row."""
    return mapped_column(ForeignKey(f"{table}.id", ondelete="CASCADE"), primary_key=True)


class TagRow:
    """A tag table's rows: one per (owner, tag), the owner key first (`owner_key`).

    Linode's tags are at most 50 characters (the schemas check it before a write).
    """

    tag: Mapped[str] = mapped_column(String(50), primary_key=True)
