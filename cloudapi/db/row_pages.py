"""Pages of Core rows read in one statement, each statement built once per shape.

The hot lists (Linodes, events) used to read a page as ORM objects in a count and a
page query (plus one per relationship); here the page is a CTE, and what `extra` joins
to it (a Linode's tags and addresses, aggregated) is computed for the page's rows only,
never for the rows an OFFSET skips; the count of every matching row rides along as a
scalar subquery (`results`, computed once). Only an empty page needs more: page 1 is
then an empty list, and a page past the end is read again as the last.

A deep page (an OFFSET of DEEP_OFFSET rows or more) first takes its ids alone, so that
the rows it skips are index entries, not heap rows, and then its rows by id; a shallow
one reads its rows straight from the index walk (the join back by id tempted PostgreSQL
into a hash join over the whole table for mid-sized tables).

Building such a statement costs about a millisecond of Python, more than running it, so
each shape is built once, with bind parameters for what changes (the account, the page,
the X-Filter's values), and kept: those without an X-Filter condition (any order) for
good, those with one (Cloud Manager's event polls, Terraform's label lookups) in a
bounded cache of recently used shapes.
"""

import threading
from collections import OrderedDict

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.sql.util import ClauseAdapter

from cloudapi.db import reads

LIMIT = bindparam("page_limit", type_=Integer)
OFFSET = bindparam("page_offset", type_=Integer)
DEEP_OFFSET = 2000
# How many X-Filter shapes each list keeps compiled (the least recently used go first).
FILTER_SHAPES = 256
# Ids are 32-bit integers, so no page starts past this: a bigger OFFSET (?page= takes 18
# digits) is not sent (the database's integer would overflow), it is past the end.
MAX_OFFSET = 2**31 - 1


class PageQuery:
    """The page statements of `columns` of `model` rows matching `where`, in `order`;
    `extra(page)` returns (the FROM built on the page CTE, the columns it adds). A query
    that is `kept` (built once, by Shapes) also keeps its compiled forms (reads.fetch)."""

    def __init__(self, model, columns, where, order, extra=None, kept=False):
        self._parts = (model, columns, where, order, extra)
        self._statements = {}
        self._compiled = {False: {}, True: {}} if kept else None
        self.count = select(func.count()).select_from(model).where(*where)

    def statement(self, deep):
        found = self._statements.get(deep)
        if found is None:  # two threads may both build it: the same statement, harmless
            found = self._statements[deep] = self._build(deep)
        return found

    def _build(self, deep):
        model, columns, where, order, extra = self._parts
        if deep:
            keys = (select(model.id).where(*where).order_by(*order)
                    .limit(LIMIT).offset(OFFSET).cte("page_keys"))  # fmt: skip
            inner = select(*columns).join(keys, model.id == keys.c.id).cte("page")
        else:
            inner = (select(*columns).where(*where).order_by(*order)
                     .limit(LIMIT).offset(OFFSET).cte("page"))  # fmt: skip
        joined, more = extra(inner) if extra else (inner, ())
        adapt = ClauseAdapter(inner).traverse  # the same order, on the page's columns
        return (
            select(*inner.c, *more, self.count.scalar_subquery().label("results"))
            .select_from(joined)
            .order_by(*[adapt(getattr(o, "expression", o)) for o in order])
        )

    def rows(self, database, page_req, params):
        """(rows, page, pages, results) for `params` (the statement's own bind values);
        each row a sequence whose last item is `results`."""
        size = page_req.page_size

        def read(page):
            offset = (page - 1) * size
            if offset > MAX_OFFSET:
                return []
            deep = offset >= DEEP_OFFSET
            compiled = self._compiled[deep] if self._compiled is not None else None
            bound = {**params, "page_limit": size, "page_offset": offset}
            return reads.fetch(database, self.statement(deep), bound, compiled)

        rows = read(page_req.page)
        if not rows and page_req.page > 1:
            results = reads.fetch(database, self.count, params)[0][0]
            rows = read(page_req.clamp(results)[0]) if results else []
        results = rows[0][-1] if rows else 0
        page, pages = page_req.clamp(results)
        return rows, page, pages, results


class Shapes:
    """Statements by shape, built by `build(*args)` on first use and kept with their args
    (so that an id() in a key keeps naming the same object). Without `limit`, `key` must
    bound the shapes (a dialect and an X-Filter order, say), since nothing is dropped;
    with it, the least recently used shape goes once there are more (X-Filter shapes,
    which clients choose)."""

    def __init__(self, build, limit=None):
        self._build = build
        self._limit = limit
        self._found = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, *args):
        found = self._found.get(key)
        if found is None:  # two threads may both build it: the same statement, harmless
            found = (self._build(*args), args)
            with self._lock:
                self._found[key] = found
                if self._limit is not None and len(self._found) > self._limit:
                    self._found.popitem(last=False)
        elif self._limit is not None:
            with self._lock:
                if key in self._found:
                    self._found.move_to_end(key)
        return found[0]
