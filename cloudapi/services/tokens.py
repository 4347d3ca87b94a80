"""API tokens: made random, shown once, stored as SHA-256, looked up by that hash."""

import hashlib
import secrets
from datetime import datetime

from cloudapi.db.accounts import Token
from cloudapi.db.base import utcnow
from cloudapi.errors import Invalid
from cloudapi.services import accounts

AREAS = frozenset(
    "account databases domains events firewall images ips linodes lke longview "
    "nodebalancers object_storage stackscripts volumes vpc".split()
)
LEVELS = ("read_only", "read_write")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(text: str) -> str:
    """Check a space- or comma-separated scope string; return it normalised."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        raise Invalid.field("scopes", "scopes must not be empty")
    for part in parts:
        if part == "*":
            continue
        area, _, level = part.partition(":")
        if area not in AREAS or level not in LEVELS:
            raise Invalid.field("scopes", f"unknown scope {part!r}")
    return "*" if "*" in parts else " ".join(sorted(set(parts)))


def create(session, *, account_id=None, is_admin=False, host=None, scopes="*", label="",
           expiry=None):  # fmt: skip
    """Add a token row to the session; return the token, which is never stored.

    A token is exactly one of: an account's, an admin's, or a host agent's (`host`).
    An account's token keeps its first 16 characters beside the hash, for /profile/tokens
    (as Linode shows them); `expiry` (naive UTC, None for never) is checked on every lookup.
    """
    if [account_id is not None, is_admin, host is not None].count(True) != 1:
        raise ValueError("a token is for an account, an admin or a host: exactly one")
    token = secrets.token_hex(32)
    session.add(
        Token(
            token_hash=digest(token),
            account_id=account_id,
            is_admin=is_admin,
            host=host,
            scopes=parse_scopes(scopes),
            label=label,
            prefix=token[:16] if account_id is not None else "",
            expiry=expiry,
        )
    )
    return token


# One round trip: the token, its account, and one row per tag or beta enrollment.
_LOOKUP_SQL = """
SELECT t.id, t.account_id, t.is_admin, t.scopes, t.expiry, a.username, a.email, t.host,
       l.kind, l.name
FROM tokens t
LEFT JOIN accounts a ON a.id = t.account_id
LEFT JOIN (SELECT account_id, 'tag' AS kind, tag AS name FROM account_tags
           UNION ALL
           SELECT account_id, 'beta' AS kind, beta_id AS name FROM account_betas) l
       ON l.account_id = t.account_id
WHERE t.token_hash = {param}
"""


def lookup(database, token: str):
    """Return the principal fields for a live token, or None.

    This runs on every authenticated request, so it is one hand-written, indexed query
    on a pooled DBAPI connection: no SQL compilation, no ORM, no per-row objects. It reads
    the account's tags and beta enrollments each time, so a new tag counts on the next
    request; its cost does not grow with the number of instances, tokens or accounts.
    """
    sql = _LOOKUP_SQL.format(param="?" if database.is_sqlite else "%s")
    raw = database.engine.raw_connection()
    driver = raw.driver_connection
    try:
        # Autocommit for this one read: no BEGIN and no ROLLBACK round trips around it.
        if not database.is_sqlite:
            driver.autocommit = True
        cursor = driver.cursor()
        cursor.execute(sql, (digest(token),))
        rows = cursor.fetchall()
        cursor.close()
    finally:
        if not database.is_sqlite:
            driver.autocommit = False
        raw.close()
    if not rows:
        return None
    token_id, account_id, is_admin, scopes, expiry, username, email, host = rows[0][:8]
    if isinstance(expiry, str):  # SQLite hands back text
        expiry = datetime.fromisoformat(expiry)
    if expiry is not None and expiry <= utcnow():
        return None
    labels = {"tag": [], "beta": []}
    for *_, kind, name in rows:
        if kind is not None:
            labels[kind].append(name)
    return {
        "token_id": token_id,
        "account_id": account_id,
        "username": username or ("admin" if is_admin else f"agent:{host}"),
        "email": email or "",
        "tags": tuple(sorted(labels["tag"])),
        "betas": tuple(sorted(labels["beta"])),
        "scopes": frozenset(scopes.split()),
        "is_admin": bool(is_admin),
        "host": host,
    }


def issue(database, *, account_id=None, is_admin=False, host=None, scopes="*", label=""):
    """create, committed in a transaction of its own; an account's token needs the account."""
    with database.transaction() as session:
        if account_id is not None:
            accounts.get(session, account_id)
        return create(
            session, account_id=account_id, is_admin=is_admin, host=host, scopes=scopes, label=label
        )
