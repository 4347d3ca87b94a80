"""An agent's key ring registered for a queue, and opening what the outbox sealed."""

from cloudapi.agent.keys import KeyRing, is_sealed
from cloudapi.services import sealing


def agent_ring(db, agent, folder):
    """A key ring in `folder` whose public key is registered for `agent` (a queue)."""
    ring = KeyRing(folder)
    sealing.register(db, agent, {"public_key": ring.public_key})
    return ring


def opened_secret(ring, payload, name):
    """The clear text of the sealed secret `name` of a job's payload (asserting it is
    sealed: no clear text in the row)."""
    assert is_sealed(payload[name]), f"{name} is not sealed: {type(payload[name]).__name__}"
    return ring.open(payload)[name]
