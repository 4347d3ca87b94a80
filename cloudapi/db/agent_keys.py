"""The public keys host agents register: the API seals a job's secrets to them."""

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloudapi.db.base import Base, precise_utcnow


class AgentKey(Base):
    """One public key of an agent identity (a GPU host's name, or `pool.<region>`).

    An agent keeps every private key it made (a key ring), so a job sealed to an older key
    still opens; the newest registered key is the one new jobs are sealed to
    (docs/decisions.md 32). Only public keys are here: a copy of this table opens nothing.
    """

    __tablename__ = "agent_keys"
    __table_args__ = (UniqueConstraint("agent", "key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent: Mapped[str] = mapped_column(String(253), index=True)
    key_id: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of a Curve25519 key
    created: Mapped[datetime] = mapped_column(DateTime, default=precise_utcnow)
