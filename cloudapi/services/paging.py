"""One page of rows, Linode-style: a page past the end is the last page."""

from sqlalchemy import func, select


def page_of(session, model, where, order, page_req):
    """Return (rows, page, pages, results) for `model` rows matching `where`, in `order`."""
    results = session.scalar(select(func.count()).select_from(model).where(*where))
    page, pages = page_req.clamp(results)
    query = select(model).where(*where).order_by(*order)
    rows = session.scalars(query.offset((page - 1) * page_req.page_size).limit(page_req.page_size))
    return list(rows), page, pages, results
