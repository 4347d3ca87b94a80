"""Admin console sessions, kept in the database rather than in the browser's cookie.

A signed cookie that carries its own contents stays valid until it expires, whatever the
server does: logging out only asks the browser to forget it, and a copy replayed later
still works. Here the cookie carries only a random session id; the row holding the id's
SHA-256, the admin token and the CSRF token is the session. Logging out deletes the row,
deleting (or expiring) the admin token ends its sessions, and every worker on every node
sees that on its next request, because each request reads the row (no cache).
"""

import secrets
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import delete, select

from cloudapi.db.accounts import Token
from cloudapi.db.base import utcnow
from cloudapi.db.sessions import AdminSession
from cloudapi.services.tokens import digest


class ConsoleSession(NamedTuple):
    """A live session: the principal fields of its admin token, and its CSRF token."""

    principal: dict
    csrf_token: str


def start(database, token_id, seconds, replacing=None):
    """Add a session for the admin token `token_id`; return (session id, CSRF token).

    The session id exists only in the returned value (for the cookie); the table keeps its
    hash. `replacing` (this browser's previous session id) ends in the same transaction.
    Sessions past their expiry are removed here, so the table stays small.
    """
    with database.transaction() as session:
        if replacing:
            _delete(session, replacing)
        return _add(session, token_id, seconds)


def end(database, session_id):
    """Delete the session with this id (nothing happens for an unknown id)."""
    with database.transaction() as session:
        _delete(session, session_id)


def _add(session, token_id, seconds):
    now = utcnow()
    session.execute(delete(AdminSession).where(AdminSession.expires <= now))
    session_id, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(AdminSession(id_hash=digest(session_id), token_id=token_id, csrf_token=csrf_token,
                             created=now, expires=now + timedelta(seconds=seconds)))  # fmt: skip
    return session_id, csrf_token


def _delete(session, session_id):
    session.execute(delete(AdminSession).where(AdminSession.id_hash == digest(session_id)))


def lookup(database, session_id):
    """The live session for `session_id` as a ConsoleSession, or None.

    Live means: the row exists and has not expired, and its token is still an admin token
    that has not expired. One query: the row by primary key, joined to its token by id.
    """
    now = utcnow()
    query = (
        select(AdminSession.csrf_token, Token.id, Token.is_admin, Token.scopes, Token.expiry)
        .join(Token, Token.id == AdminSession.token_id)
        .where(AdminSession.id_hash == digest(session_id), AdminSession.expires > now)
    )
    with database.reader() as session:
        row = session.execute(query).first()
    if row is None:
        return None
    csrf_token, token_id, is_admin, scopes, expiry = row
    if not is_admin or (expiry is not None and expiry <= now):
        return None
    principal = {"token_id": token_id, "account_id": None, "username": "admin", "email": "",
                 "tags": (), "betas": (), "scopes": frozenset(scopes.split()),
                 "is_admin": True, "host": None}  # fmt: skip
    return ConsoleSession(principal, csrf_token)
