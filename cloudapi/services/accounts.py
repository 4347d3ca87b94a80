"""Accounts and their tags."""

import re
import uuid
from typing import NamedTuple

from sqlalchemy import select

from cloudapi.db.accounts import Account, AccountTag
from cloudapi.errors import Conflict, Invalid, NotFound
from cloudapi.flagging.watch import announce

TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_tag(tag):
    if not TAG_RE.match(tag):
        raise Invalid.reason(f"invalid tag {tag!r}: lowercase letters, digits, '-', '_', '.'")
    return tag


def _username_for(session, email):
    base = re.sub(r"[^a-z0-9_-]", "", email.split("@")[0].lower())[:32] or "user"
    name, n = base, 1
    while session.scalar(select(Account.id).where(Account.username == name)) is not None:
        n += 1
        name = f"{base}{n}"
    return name


def create(session, email, tags=()):
    """Add an account and return it (flushed, so it has an id)."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise Invalid.reason(f"invalid email {email!r}")
    if session.scalar(select(Account.id).where(Account.email == email)) is not None:
        raise Conflict.reason(f"an account with email {email} already exists")
    account = Account(email=email, username=_username_for(session, email), euuid=str(uuid.uuid4()))
    account.tags = [AccountTag(tag=_check_tag(t)) for t in sorted(set(tags))]
    session.add(account)
    session.flush()
    return account


def get(session, account_id):
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound.reason(f"no account with id {account_id}")
    return account


def tag(session, account_id, name):
    account = get(session, account_id)
    if name not in account.tag_names:
        account.tags.append(AccountTag(tag=_check_tag(name)))
        announce(session)
    return account


def untag(session, account_id, name):
    account = get(session, account_id)
    account.tags = [t for t in account.tags if t.tag != name]
    announce(session)
    return account


def listing(session, search=""):
    """Accounts, optionally those whose id is `search` or whose email contains it."""
    query = select(Account).order_by(Account.id)
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        condition = Account.email.like(f"%{escaped}%", escape="\\")
        if search.isdigit():
            condition = condition | (Account.id == int(search))
        query = query.where(condition)
    return list(session.scalars(query.limit(200)))


# -- the use cases: each in a transaction of its own (the admin API and the CLI) -----------


class AccountView(NamedTuple):
    """An account as operators see it, read inside the transaction that changed it."""

    id: int
    email: str
    username: str
    tags: tuple

    @classmethod
    def of(cls, account):
        return cls(account.id, account.email, account.username, tuple(account.tag_names))


def open_account(database, email, tags=()):
    """Create an account and commit it."""
    with database.transaction() as session:
        return AccountView.of(create(session, email, tags))


def add_tag(database, account_id, name):
    """Tag an account and commit it."""
    with database.transaction() as session:
        return AccountView.of(tag(session, account_id, name))


def remove_tag(database, account_id, name):
    """Untag an account and commit it."""
    with database.transaction() as session:
        return AccountView.of(untag(session, account_id, name))


def find(database, account_id):
    """One account, read."""
    with database.reader() as session:
        return AccountView.of(get(session, account_id))


def search(database, text=""):
    """Accounts matching `text` (see listing), read."""
    with database.reader() as session:
        return [AccountView.of(a) for a in listing(session, text)]
