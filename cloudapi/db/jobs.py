"""The job outbox (relayed to host agents) and the events customers see."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloudapi import tracing
from cloudapi.db.base import Base, precise_utcnow, utcnow

# A job's states once it has ended; reports after that change nothing.
ENDED = ("done", "error")


class Job(Base):
    """One unit of work for a host agent, written in the transaction of the change."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_unsent", "sent_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # Which host's queue the job goes to; set by placement once hosts exist.
    host: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    # Microseconds kept: the relay sends a host's jobs in this order (create before delete).
    created: Mapped[datetime] = mapped_column(DateTime, default=precise_utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The trace id of the request that wrote it (cloudapi/tracing.py), or null (the CLI's).
    # A default rather than an argument: every writer of jobs (outbox.record, a firewall's
    # pushes, a move's `undefine`) gets it, and none has to pass it along.
    request_id: Mapped[str | None] = mapped_column(String(64), index=True,
                                                   default=tracing.request_id)  # fmt: skip

    @classmethod
    def unfinished(cls):
        """The filter for jobs that have not ended (queued, sent or running)."""
        return cls.state.notin_(ENDED)


class Event(Base):
    """A Linode event: the public projection of a job, or a notification."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    entity_label: Mapped[str] = mapped_column(String(64))
    # Linode's `secondary_entity` (e.g. the Linode of a firewall_device_add); all or none.
    # The id is text, as Linode's spec has it: a create's image is "linode/debian12".
    secondary_entity_type: Mapped[str | None] = mapped_column(String(32))
    secondary_entity_id: Mapped[str | None] = mapped_column(String(64))
    secondary_entity_label: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    percent_complete: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(String(1024))
    username: Mapped[str] = mapped_column(String(64))
    seen: Mapped[bool] = mapped_column(Boolean, default=False)
    read: Mapped[bool] = mapped_column(Boolean, default=False)

    job: Mapped[Job | None] = relationship()
