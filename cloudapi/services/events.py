"""Reading an account's events."""

from collections import namedtuple
from datetime import timedelta

from sqlalchemy import DateTime, Integer, bindparam, select

from cloudapi import filters
from cloudapi.db.base import utcnow
from cloudapi.db.jobs import Event
from cloudapi.db.paging import page_of
from cloudapi.db.row_pages import FILTER_SHAPES, PageQuery, Shapes
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
# What render.event reads, labelled as the Event attributes (the events page reads rows).
COLUMNS = (
    Event.id, Event.action, Event.created, Event.entity_type, Event.entity_id,
    Event.entity_label, Event.secondary_entity_type, Event.secondary_entity_id,
    Event.secondary_entity_label, Event.status, Event.percent_complete, Event.duration,
    Event.message, Event.read, Event.seen, Event.username,
)  # fmt: skip
# A page's row (and its `results`), as a namedtuple: attributes read ten times faster.
EventRow = namedtuple("EventRow", (*select(*COLUMNS).selected_columns.keys(), "results"))


def _visible(account_id):
    return (Event.account_id == account_id, Event.created >= utcnow() - RETENTION)


def _query(visible, flt, bound=False):
    """(where, order): newest first unless the filter orders them."""
    where = (*visible, filters.to_sql(flt.where, SQL_FIELDS, bound))
    if flt.order_by:
        column = SQL_FIELDS[flt.order_by]
        return where, [column.desc() if flt.order == "desc" else column.asc(), Event.id.asc()]
    return where, [Event.id.desc()]


def listing(session, account_id, flt, page_req):
    """Return (events, page, pages, results) as Event objects."""
    return page_of(session, Event, *_query(_visible(account_id), flt), page_req)


_VISIBLE = (Event.account_id == bindparam("account_id", type_=Integer),
            Event.created >= bindparam("cutoff", type_=DateTime))  # fmt: skip


def _page_query(flt):
    return PageQuery(Event, COLUMNS, *_query(_VISIBLE, flt, bound=True), kept=True)


# By X-Filter shape (its values bound), in any of its orders: built once, kept.
_PAGES = Shapes(_page_query, limit=FILTER_SHAPES)


def rows_listing(database, account_id, flt, page_req):
    """listing, as rows (EventRow) in one statement: the events page, which Cloud Manager
    polls."""
    query = _PAGES.get((filters.shape(flt.where), flt.order_by, flt.order), flt)
    params = {"account_id": account_id, "cutoff": utcnow() - RETENTION,
              **filters.bound_values(flt.where)}  # fmt: skip
    rows, page, pages, results = query.rows(database, page_req, params)
    return [EventRow._make(row) for row in rows], page, pages, results


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
