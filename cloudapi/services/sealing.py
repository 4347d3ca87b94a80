"""A job's secrets, sealed to its agent's public key before the job row is written.

An agent identity (a GPU host's name, or `pool.<region>`: a job's queue) registers the
public half of its key pairs (`register`, PUT /internal/agents/key). `seal` replaces each
secret of a payload (storage.SECRETS: a root password) by ``{"sealed": <base64 of a
libsodium sealed box>, "key_id": ...}`` made with the newest key registered for the
queue: only the agent's private key opens it (cloudapi/agent/keys.py), and the clear text
is never in a row, a broker message or a log line. With no key registered for the queue
the secret is not sent at all: it leaves the payload, whose `unsealed` lists it, and a
warning (without it) is logged (docs/decisions.md 32).
"""

import base64
import binascii
import hashlib
import logging

from nacl.public import PublicKey, SealedBox
from sqlalchemy import select

from cloudapi.db.agent_keys import AgentKey
from cloudapi.errors import Invalid
from cloudapi.schemas import load
from cloudapi.schemas.agent_keys import AgentKeySchema
from cloudapi.services.storage import SECRETS

log = logging.getLogger(__name__)

NOT_A_KEY = "Must be the base64 of a 32-byte Curve25519 public key"


def key_id(public_key):
    """A key's short name: the first 16 hex digits of the SHA-256 of its 32 bytes."""
    return hashlib.sha256(bytes(public_key)).hexdigest()[:16]


def parse_public_key(text):
    """The PublicKey in base64 `text`, or Invalid on `public_key`."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise Invalid.field("public_key", NOT_A_KEY)
    return PublicKey(raw)


def register(database, agent, body):
    """Register the public key in `body` for `agent`; return its row (the same row again
    for a key registered before: an agent registers its newest key at every start)."""
    data = load(AgentKeySchema(), body)
    public = parse_public_key(data["public_key"])
    kid = key_id(public)
    with database.transaction() as session:
        found = session.scalar(select(AgentKey).where(AgentKey.agent == agent,
                                                      AgentKey.key_id == kid))  # fmt: skip
        if found is not None:
            return found
        row = AgentKey(agent=agent, key_id=kid,
                       public_key=base64.b64encode(bytes(public)).decode())  # fmt: skip
        session.add(row)
        session.flush()
        return row


def newest_key(session, agent):
    """The key new jobs for `agent` are sealed to: its newest registered one, or None."""
    query = (select(AgentKey).where(AgentKey.agent == agent)
             .order_by(AgentKey.created.desc(), AgentKey.id.desc()).limit(1))  # fmt: skip
    return session.scalar(query)


def seal_value(key, value):
    """`value` (text) sealed to the AgentKey `key`: what a payload carries instead."""
    box = SealedBox(PublicKey(base64.b64decode(key.public_key)))
    sealed = box.encrypt(str(value).encode("utf-8"))
    return {"sealed": base64.b64encode(sealed).decode(), "key_id": key.key_id}


def seal(session, queue, payload):
    """`payload` with every secret sealed to `queue`'s newest key (a new dict); without a
    key, with the secrets left out and named in `unsealed`. No secret: `payload` itself."""
    present = [name for name in SECRETS if payload.get(name) is not None]
    if not present:
        return payload
    key = newest_key(session, queue)
    if key is None:
        log.warning("no key registered for agent %s: %s not sent with the job",
                    queue, ", ".join(present))  # fmt: skip
        kept = {k: v for k, v in payload.items() if k not in SECRETS}
        return {**kept, "unsealed": present}
    return {**payload, **{name: seal_value(key, payload[name]) for name in present}}
