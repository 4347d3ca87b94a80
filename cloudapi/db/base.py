"""Declarative base shared by every model."""

from datetime import UTC, datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

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
