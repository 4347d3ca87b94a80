"""One page of rows, Linode-style: a page past the end is the last page; and the order an
X-Filter's `+order_by` asks for."""

from sqlalchemy import func, select

from cloudapi.errors import Invalid


def page_of(session, model, where, order, page_req):
    """Return (rows, page, pages, results) for `model` rows matching `where`, in `order`."""
    results = session.scalar(select(func.count()).select_from(model).where(*where))
    page, pages = page_req.clamp(results)
    query = select(model).where(*where).order_by(*order)
    rows = session.scalars(query.offset((page - 1) * page_req.page_size).limit(page_req.page_size))
    return list(rows), page, pages, results


def order_of(flt, sql_fields, tiebreak):
    """ORDER BY for a parsed X-Filter: its `+order_by` column first, then `tiebreak` (the id,
    so pages never overlap). A field filtered through a subquery (a tag list) cannot order."""
    order = [tiebreak]
    if flt.order_by:
        column = sql_fields[flt.order_by]
        if callable(column) and not hasattr(column, "expression"):
            raise Invalid.field("X-Filter", f"Cannot order by {flt.order_by}")
        order.insert(0, column.desc() if flt.order == "desc" else column.asc())
    return order
