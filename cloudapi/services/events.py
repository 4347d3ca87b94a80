"""Reading an account's events."""

from datetime import timedelta

from sqlalchemy import select

from cloudapi import filters
from cloudapi.db.base import utcnow
from cloudapi.db.jobs import Event
from cloudapi.db.paging import page_of
from cloudapi.errors import NotFound

FILTERABLE = {
    "id": "int", "action": "str", "created": "datetime", "status": "str",
    "entity.id": "int", "entity.type": "str", "entity.label": "str",
}  # fmt: skip
SQL_FIELDS = {
    "id": Event.id, "action": Event.action, "created": Event.created, "status": Event.status,
    "entity.id": Event.entity_id, "entity.type": Event.entity_type,
    "entity.label": Event.entity_label,
}  # fmt: skip
RETENTION = timedelta(days=90)


def _visible(account_id):
    return (Event.account_id == account_id, Event.created >= utcnow() - RETENTION)


def listing(session, account_id, flt, page_req):
    """Return (events, page, pages, results); newest first unless the filter orders them."""
    where = (*_visible(account_id), filters.to_sql(flt.where, SQL_FIELDS))
    if flt.order_by:
        column = SQL_FIELDS[flt.order_by]
        order = [column.desc() if flt.order == "desc" else column.asc(), Event.id.asc()]
    else:
        order = [Event.id.desc()]
    return page_of(session, Event, where, order, page_req)


def get(session, account_id, event_id):
    found = session.scalar(select(Event).where(*_visible(account_id), Event.id == event_id))
    if found is None:
        raise NotFound()
    return found


def mark(database, account_id, event_id, flag):
    """Mark one event seen or read (Linode marks 'seen' for every older event too)."""
    with database.transaction() as session:
        event = get(session, account_id, event_id)
        if flag == "read":
            event.read = True
        else:
            for older in session.scalars(
                select(Event).where(*_visible(account_id), Event.id <= event_id)
            ):
                older.seen = True
