"""API tokens: made random, shown once, stored as SHA-256, looked up by that hash."""

import hashlib
import secrets

from sqlalchemy import bindparam, literal, select, union_all

from cloudapi.db.accounts import Account, AccountTag, Token
from cloudapi.db.base import utcnow
from cloudapi.db.betas import AccountBeta

AREAS = frozenset(
    "account databases domains events firewall images ips linodes lke longview "
    "nodebalancers object_storage stackscripts volumes vpc".split()
)
LEVELS = ("read_only", "read_write")


class ScopeError(ValueError):
    pass


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(text: str) -> str:
    """Check a space- or comma-separated scope string; return it normalised."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise ScopeError("scopes must not be empty")
    for part in parts:
        if part == "*":
            continue
        area, _, level = part.partition(":")
        if area not in AREAS or level not in LEVELS:
            raise ScopeError(f"unknown scope {part!r}")
    return "*" if "*" in parts else " ".join(sorted(set(parts)))


def create(session, *, account_id=None, is_admin=False, scopes="*", label=""):
    """Add a token row to the session; return the token, which is never stored."""
    if is_admin == (account_id is not None):
        raise ValueError("a token belongs to an account or is an admin token, not both")
    token = secrets.token_hex(32)
    session.add(
        Token(
            token_hash=digest(token),
            account_id=account_id,
            is_admin=is_admin,
            scopes=parse_scopes(scopes),
            label=label,
        )
    )
    return token


_LOOKUP = (
    select(
        Token.id, Token.account_id, Token.is_admin, Token.scopes, Token.expiry,
        Account.username, Account.email,
    )
    .outerjoin(Account, Account.id == Token.account_id)
    .where(Token.token_hash == bindparam("digest"))
)  # fmt: skip
_LABELS = union_all(
    select(literal("tag").label("kind"), AccountTag.tag.label("name")).where(
        AccountTag.account_id == bindparam("account_id")
    ),
    select(literal("beta"), AccountBeta.beta_id).where(
        AccountBeta.account_id == bindparam("account_id")
    ),
)


def lookup(database, token: str):
    """Return the principal fields for a live token, or None.

    Runs on every authenticated request, so it is two indexed Core queries on one
    pooled connection, with no ORM identity map to build: the token with its account,
    then the account's tags and beta enrollments (what feature flags are evaluated on).
    """
    with database.engine.connect() as conn:
        row = conn.execute(_LOOKUP, {"digest": digest(token)}).first()
        if row is None or (row.expiry is not None and row.expiry <= utcnow()):
            return None
        labels = {"tag": [], "beta": []}
        if row.account_id is not None:
            for kind, name in conn.execute(_LABELS, {"account_id": row.account_id}):
                labels[kind].append(name)
    return {
        "token_id": row.id,
        "account_id": row.account_id,
        "username": row.username or "admin",
        "email": row.email or "",
        "tags": tuple(sorted(labels["tag"])),
        "betas": tuple(sorted(labels["beta"])),
        "scopes": frozenset(row.scopes.split()),
        "is_admin": row.is_admin,
    }
