"""Direct looks at the database, for asserting what a request did or did not write."""

from sqlalchemy import func, select, update

from cloudapi.db.instances import Instance
from cloudapi.db.jobs import Event, Job


def counts(db):
    with db.reader() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Instance, Job, Event)
        }


def jobs_for(db, instance_id):
    with db.reader() as session:
        found = session.scalars(
            select(Job).where(Job.instance_id == instance_id).order_by(Job.created)
        )
        return [(j.action, j.state, j.sent_at) for j in found]


def set_status(db, instance_id, status):
    """Stand in for the host agent: move an instance to `status`."""
    with db.transaction() as session:
        session.execute(update(Instance).where(Instance.id == instance_id).values(status=status))


def settle(db, instance_id, status):
    """Stand in for the host agent finishing every job of the instance, ending in `status`
    (a resize or rebuild in flight holds its instance until its job ends)."""
    set_status(db, instance_id, status)
    with db.transaction() as session:
        session.execute(update(Job).where(Job.instance_id == instance_id,
                                          Job.unfinished())
                        .values(state="done"))  # fmt: skip
