"""The admin console's sessions, kept on the server so that logout ends them everywhere."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudapi.db.base import Base, utcnow


class AdminSession(Base):
    """One signed-in browser. Only the SHA-256 of its session id is stored, as with tokens:
    a copy of this table does not let anyone into the console. Deleting the admin token
    deletes its sessions (the foreign key cascades)."""

    __tablename__ = "admin_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tokens.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires: Mapped[datetime] = mapped_column(DateTime, index=True)
