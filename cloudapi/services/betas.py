"""Betas: listing, enrollment, and opening or closing one for enrollment."""

from sqlalchemy import select

from cloudapi.db.base import utcnow
from cloudapi.db.betas import AccountBeta, Beta
from cloudapi.errors import Invalid, NotFound
from cloudapi.flagging.watch import announce


def open_betas(session):
    return list(session.scalars(select(Beta).where(Beta.is_open.is_(True)).order_by(Beta.id)))


def get_open(session, beta_id):
    beta = session.get(Beta, beta_id)
    if beta is None or not beta.is_open:
        raise NotFound()
    return beta


def enrolled(session, account_id):
    """(beta, enrollment) pairs for an account, oldest enrollment first."""
    query = (
        select(Beta, AccountBeta)
        .join(AccountBeta, AccountBeta.beta_id == Beta.id)
        .where(AccountBeta.account_id == account_id)
        .order_by(AccountBeta.enrolled, Beta.id)
    )
    return [tuple(row) for row in session.execute(query)]


def enrollment(session, account_id, beta_id):
    for beta, enrolled_row in enrolled(session, account_id):
        if beta.id == beta_id:
            return beta, enrolled_row
    raise NotFound()


def enroll(database, account_id, beta_id):
    """Enroll an account in an open beta; enrolling twice changes nothing."""
    with database.transaction() as session:
        beta = session.get(Beta, beta_id)
        if beta is None or not beta.is_open:
            raise Invalid.field("id", "No open beta by that ID was found")
        if session.get(AccountBeta, (account_id, beta_id)) is None:
            session.add(AccountBeta(account_id=account_id, beta_id=beta_id))
            announce(session)


def set_open(session, beta_id, is_open):
    """Open a beta for enrollment or close it. Enrolled accounts stay enrolled."""
    beta = session.get(Beta, beta_id)
    if beta is None:
        raise NotFound.reason(f"no beta with id {beta_id!r}")
    beta.is_open = is_open
    beta.ended = None if is_open else utcnow()
    return beta


def all_betas(session):
    return list(session.scalars(select(Beta).order_by(Beta.id)))


def open_or_close(database, beta_id, is_open):
    """set_open, committed in a transaction of its own; returns the beta."""
    with database.transaction() as session:
        return set_open(session, beta_id, is_open)
