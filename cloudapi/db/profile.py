"""What a customer keeps on their profile and account: SSH keys, preferences, explicit
tags and account settings. Every row belongs to one account and goes with it."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloudapi.db.base import Base, utcnow


def _account_fk(**kwargs):
    return mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), **kwargs)


class SSHKey(Base):
    """A public key uploaded to /profile/sshkeys; `authorized_users` deploys these."""

    __tablename__ = "ssh_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = _account_fk(index=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    ssh_key: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Preferences(Base):
    """The profile's preferences: one JSON object, kept as its serialized text.

    Text, not a JSON column: PostgreSQL's json type refuses some strings JSON allows
    (lone surrogates), and the text is what the size limit is measured on anyway.
    """

    __tablename__ = "profile_preferences"

    account_id: Mapped[int] = _account_fk(primary_key=True)
    document: Mapped[str] = mapped_column(Text, default="{}")
    updated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Tag(Base):
    """A tag created through POST /tags. The account's tags are these plus every tag on
    its live instances (instance_tags), so a tag made empty by untagging stays listed
    until it is deleted, as on Linode."""

    __tablename__ = "tags"

    account_id: Mapped[int] = _account_fk(primary_key=True)
    label: Mapped[str] = mapped_column(String(50), primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AccountSettings(Base):
    """The writable /account/settings; an account without a row has the defaults."""

    __tablename__ = "account_settings"

    account_id: Mapped[int] = _account_fk(primary_key=True)
    backups_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    network_helper: Mapped[bool] = mapped_column(Boolean, default=True)
    interfaces_for_new_linodes: Mapped[str] = mapped_column(
        String(64), default="legacy_config_only"
    )
    maintenance_policy: Mapped[str] = mapped_column(String(32), default="linode/migrate")
