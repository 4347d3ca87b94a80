"""Linode's page envelope: {data, page, pages, results}; page_size 25..500, default 100."""

import math
import re
from dataclasses import dataclass

from flask import request

from cloudapi import filters
from cloudapi.api.context import database, principal
from cloudapi.errors import Invalid

DEFAULT_PAGE_SIZE = 100
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 25, 500
# Plain decimal digits only, at most 18 of them: int() alone would also take " 7", "1_0",
# non-ASCII digits and thousands of digits (where it raises). Bigger pages are the last page.
_NUMBER = re.compile(r"-?[0-9]{1,18}")


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    def clamp(self, results):
        """Return (page, pages): a page past the end is the last page."""
        pages = max(1, math.ceil(results / self.page_size))
        return min(self.page, pages), pages


def _int_arg(name, default):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not _NUMBER.fullmatch(raw):
        raise Invalid.field(name, f"{name} must be an integer")
    return int(raw)


def page_request():
    """Read and check ?page and ?page_size."""
    page = _int_arg("page", 1)
    size = _int_arg("page_size", DEFAULT_PAGE_SIZE)
    errors = []
    if page < 1:
        errors.append({"field": "page", "reason": "page must be 1 or greater"})
    if not MIN_PAGE_SIZE <= size <= MAX_PAGE_SIZE:
        errors.append({"field": "page_size", "reason": f"Must be {MIN_PAGE_SIZE}-{MAX_PAGE_SIZE}"})
    if errors:
        raise Invalid(errors)
    return PageRequest(page, size)


def envelope(data, page, pages, results):
    return {"data": data, "page": page, "pages": pages, "results": results}


def paginate_list(items, req: PageRequest, render):
    """Page an in-memory list and render the page's items."""
    page, pages = req.clamp(len(items))
    start = (page - 1) * req.page_size
    chunk = items[start : start + req.page_size]
    return envelope([render(i) for i in chunk], page, pages, len(items))


def listed(listing, render, *args, filterable=None):
    """One page of the caller's rows in Linode's envelope, read and rendered in one reader.

    `listing(session, account_id, *args, [flt,] page_request)` is a service's read of the
    caller's account; with `filterable` (the service's FILTERABLE) the X-Filter header is
    parsed against it and passed before the page. Rendering happens inside the read, so a
    relationship the shape needs can still load.
    """
    extra = (filters.parse(request.headers.get("X-Filter"), filterable),) if filterable else ()
    with database().reader() as session:
        found = listing(session, principal().account_id, *args, *extra, page_request())
        items, page, pages, results = found
        return envelope([render(i) for i in items], page, pages, results)


def listed_rows(listing, render, filterable):
    """`listed` for a listing that reads plain rows in one statement (the hot lists).

    `listing(database, account_id, flt, page_request)` reads through cloudapi/db/reads.py;
    its rows are complete, so they render with the connection already back in the pool.
    """
    flt = filters.parse(request.headers.get("X-Filter"), filterable)
    page_req = page_request()
    found = listing(database(), principal().account_id, flt, page_req)
    items, page, pages, results = found
    return envelope([render(i) for i in items], page, pages, results)
