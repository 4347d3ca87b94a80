"""API tokens: made random, shown once, stored as SHA-256, looked up by that hash."""

import hashlib
import secrets

from sqlalchemy import select

from cloudapi.db.accounts import Account, Token
from cloudapi.db.base import utcnow

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


def lookup(database, token: str):
    """Return the principal fields for a live token, or None."""
    with database.reader() as session:
        found = session.execute(
            select(Token, Account).outerjoin(Account).where(Token.token_hash == digest(token))
        ).first()
        if found is None:
            return None
        tok, account = found
        if tok.expiry is not None and tok.expiry <= utcnow():
            return None
        return {
            "token_id": tok.id,
            "account_id": tok.account_id,
            "username": account.username if account else "admin",
            "email": account.email if account else "",
            "tags": tuple(account.tag_names) if account else (),
            "scopes": frozenset(tok.scopes.split()),
            "is_admin": tok.is_admin,
        }
