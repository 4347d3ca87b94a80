"""Idempotency-Key for creates: one (account, key) makes at most one thing in 24 hours.

The protocol (Stripe's rule: a key is bound to its request):

1. `replay` answers from a committed row without writing: the first response, or a 400 on
   `Idempotency-Key` when the body's hash differs from the one the key was used with.
2. Otherwise the create's own transaction `claim`s the key FIRST: it deletes the key's row
   only if it is older than the window (a conditional DELETE, so a live winner's row is
   never removed) and inserts (account, key). The primary key does the rest: on
   PostgreSQL an insert of a key another transaction holds uncommitted waits for it, then
   fails with a unique violation if it committed; on SQLite writers are serialised
   (BEGIN IMMEDIATE), so the row is either committed or absent. Either way the loser
   raises `Taken`, its transaction rolls back having written nothing, and it replays.
3. The create then `remember`s its rendered response in the same row, in the same
   transaction. A create that fails rolls back and leaves no key behind.
"""

import hashlib
import json
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from cloudapi.db.base import utcnow
from cloudapi.db.instances import IdempotencyRequest
from cloudapi.errors import Conflict

WINDOW = timedelta(hours=24)
FIELD = "Idempotency-Key"
OTHER_REQUEST = "Keys can only be reused with the same request body"


class Taken(Exception):
    """Another transaction committed this (account, key) first: replay its answer."""


# Left out of the hash: a password is guessable from an unsalted hash of a body whose
# other fields are known (they are in the stored response), and it is never stored.
SECRET_FIELDS = ("root_pass",)


def request_hash(body):
    """The SHA-256 of the canonical JSON body: key order and spacing do not matter.

    Secrets are left out, so a replay is compared on everything but its password.
    """
    public = {k: v for k, v in body.items() if k not in SECRET_FIELDS}
    canonical = json.dumps(public, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(database, account_id, key, digest):
    """The first create's response for this key, or None if the key is free to use.

    Raises a 400 on `Idempotency-Key` when the key was used with a different body.
    """
    with database.reader() as session:
        found = session.get(IdempotencyRequest, (account_id, key))
        if found is None or found.created < utcnow() - WINDOW or found.response is None:
            return None
        if found.request_hash != digest:
            raise Conflict.field(FIELD, OTHER_REQUEST)
        return found.response


def claim(session, account_id, key, digest):
    """Take (account, key) in the caller's transaction, first; raise Taken if it is held.

    Must be the transaction's first write, so that a loser waits here (not on the label
    index or the capacity) and has nothing to undo.
    """
    session.execute(
        delete(IdempotencyRequest).where(
            IdempotencyRequest.account_id == account_id,
            IdempotencyRequest.key == key,
            IdempotencyRequest.created < utcnow() - WINDOW,
        )
    )
    row = IdempotencyRequest(account_id=account_id, key=key, request_hash=digest)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Taken() from None
    return row


def remember(row, instance_id, response):
    """Keep the create's answer on its claimed row (committed with the create)."""
    row.instance_id = instance_id
    row.response = response
