"""Linodes read as plain rows: exactly the columns the Linode object shows, with its tags and
addresses aggregated in the same statement.

The ORM path built an Instance, its InstanceTag and Address (with AddressPool) objects per
row, in four queries a page; the identity map and instance state were most of a list
request's time. Here a page is one statement (cloudapi/db/row_pages.py) and a Linode one
row: no objects, no relationship loading.

Tags and addresses are aggregated per instance over the page's ids only (`= ANY` of the
page's id array on PostgreSQL: an index lookup per id, or one pass over a small table,
whatever the planner believes; joining the page CTE to the address table instead was
planned as a nested loop over the whole table when statistics were missing, 10 to 200
ms a page; the addresses' join to the page, for its region, comes after that filter).
Both keep the ORM's orders: tags by tag (the relationship's order, in the database's
collation), IPv4 public first then by id (render's `linode_ipv4`), IPv6 the lowest-id
SLAAC address, only the addresses in the instance's own region (`addresses.here`: during
a move the new side's are held, not shown). PostgreSQL aggregates what the Linode shows,
in that order (two arrays, where five per-address arrays sorted in Python cost a fifth
of a page); SQLite 3.40 cannot order inside an aggregate, so it sends every address with
its id, region, kind and publicity, and _shown picks and orders them, and its tags are
sorted here (its BINARY collation is code point order, Python's too).
"""

import json
from collections import namedtuple

import orjson
from sqlalchemy import Integer, Text, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.types import NullType

from cloudapi import filters
from cloudapi.db import reads
from cloudapi.db.addresses import IPV4, IPV6, Address, AddressPool
from cloudapi.db.instances import Instance, InstanceTag
from cloudapi.db.paging import order_of
from cloudapi.db.row_pages import FILTER_SHAPES, PageQuery, Shapes

# Labelled as the Instance attributes render.linode reads; `alerts` (last) as its JSON
# text, parsed by orjson in _decode (the driver's json.loads was a tenth of a page).
COLUMNS = (
    Instance.id, Instance.label, Instance.group.label("group"), Instance.status, Instance.created,
    Instance.updated, Instance.type_id, Instance.region_id, Instance.image_id,
    Instance.host_uuid, Instance.has_user_data, Instance.watchdog_enabled,
    Instance.backups_enabled, Instance.backup_day, Instance.backup_window,
    Instance.disk_encryption, Instance.maintenance_policy,
    cast(Instance.alerts, Text).label("alerts"),
)  # fmt: skip
# A decoded row: the columns, then tags, ipv4 and ipv6 (a namedtuple: render.linode reads
# 20 attributes a Linode, and a Row's attribute lookup costs ten times a tuple's).
FIELDS = tuple(select(*COLUMNS).selected_columns.keys())
LinodeRow = namedtuple("LinodeRow", (*FIELDS, "tags", "ipv4", "ipv6"))
REGION = FIELDS.index("region_id")
ACCOUNT = bindparam("account_id", type_=Integer)
LIVE = (Instance.account_id == ACCOUNT, Instance.deleted_at.is_(None))
# SQLite, per address: its id (_shown sorts by it), then what addresses.here and
# linode_ipv4/ipv6 look at.
HELD = (Address.id, AddressPool.region_id, AddressPool.type, AddressPool.public, Address.address)


def _array(column):
    # NullType: psycopg hands arrays back as lists already; no per-item processing.
    return func.array_agg(column, type_=NullType())


def _aggregates(page, is_sqlite):
    """The page joined to its tags and addresses, and the columns those bring: `tags`,
    then the addresses (PostgreSQL: the Linode's `ipv4` list and its SLAAC addresses,
    each in the order shown; SQLite: every address of the Linode, as one JSON array)."""
    if is_sqlite:
        in_page = lambda column: column.in_(select(page.c.id))  # noqa: E731
        tag_list = func.json_group_array(InstanceTag.tag)
        shown = (func.json_group_array(func.json_array(*HELD)),)
        here = ()
    else:
        # A cast, so that ANY reads one array (the page's ids), not a subquery's rows.
        ids = cast(select(func.array_agg(page.c.id)).scalar_subquery(), ARRAY(Integer))
        in_page = lambda column: column == any_(ids)  # noqa: E731
        tag_list = _array(aggregate_order_by(InstanceTag.tag, InstanceTag.tag))
        # As _shown: public IPv4 first, then private, each oldest first; the oldest SLAAC.
        ipv4 = aggregate_order_by(Address.address, ~AddressPool.public, Address.id)
        ipv6 = aggregate_order_by(Address.address, Address.id)
        shown = (_array(ipv4).filter(AddressPool.type == IPV4),
                 _array(ipv6).filter(AddressPool.type == IPV6))  # fmt: skip
        here = (AddressPool.region_id == page.c.region_id,)  # addresses.here
    tags = (select(InstanceTag.instance_id, tag_list.label("tags"))
            .where(in_page(InstanceTag.instance_id))
            .group_by(InstanceTag.instance_id).subquery("page_tags"))  # fmt: skip
    held = select(Address.instance_id, *(a.label(f"held_{n}") for n, a in enumerate(shown)))
    held = held.join(AddressPool, Address.pool_id == AddressPool.id)
    if here:
        held = held.join(page, page.c.id == Address.instance_id)
    addresses = (held.where(in_page(Address.instance_id), *here)
                 .group_by(Address.instance_id).subquery("page_addresses"))  # fmt: skip
    joined = page.outerjoin(tags, tags.c.instance_id == page.c.id).outerjoin(
        addresses, addresses.c.instance_id == page.c.id)  # fmt: skip
    return joined, (tags.c.tags, *list(addresses.c)[1:])


def _loads(text):
    """JSON text as json.loads reads it; orjson first (it refuses NaN, beyond-64-bit
    integers and the like, which json.loads then reads)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _shown(region_id, held):
    """(ipv4, ipv6) from (id, region, kind, public, address) tuples, in any order."""
    public, private, ipv6 = [], [], None
    for _, region, kind, is_public, address in sorted(held):
        if region != region_id:
            continue
        if kind == IPV4:
            (public if is_public else private).append(address)
        elif ipv6 is None and kind == IPV6:
            ipv6 = address
    return public + private, ipv6


def _decode(rows, is_sqlite):
    """LinodeRows: alerts parsed, tags and addresses as the ORM showed them."""
    n = len(FIELDS)
    found = []
    for row in rows:
        alerts, tags = row[n - 1], row[n]
        if is_sqlite:
            tags = sorted(orjson.loads(tags)) if tags else []
            held = orjson.loads(row[n + 1]) if row[n + 1] else ()
            ipv4, ipv6 = _shown(row[REGION], held)
        else:
            tags, ipv4, ipv6 = tags or [], row[n + 1] or [], row[n + 2]
            ipv6 = ipv6[0] if ipv6 else None
        found.append(LinodeRow(*row[: n - 1], _loads(alerts), tags, ipv4, ipv6))
    return found


def _page_query(is_sqlite, flt, sql_fields):
    where = (*LIVE, filters.to_sql(flt.where, sql_fields, bound=True))
    order = order_of(flt, sql_fields, Instance.id)
    return PageQuery(Instance, COLUMNS, where, order, lambda page: _aggregates(page, is_sqlite),
                     kept=True)  # fmt: skip


def _one_query(is_sqlite):
    """(the statement, its compiled forms): one Linode, as a page of one."""
    page = select(*COLUMNS).where(*LIVE, Instance.id == bindparam("instance_id")).cte("page")
    joined, more = _aggregates(page, is_sqlite)
    return select(*page.c, *more).select_from(joined), {}


# By X-Filter shape (its values bound), in any of its orders: built once, kept.
_PAGES = Shapes(_page_query, limit=FILTER_SHAPES)
_ONE = Shapes(_one_query)


def listing(database, account_id, flt, page_req, sql_fields):
    """(rows, page, pages, results): one page of the account's live Linodes as
    LinodeRows; the X-Filter `flt` is compiled with the service's `sql_fields` (kept with
    its statement, so that its id keeps naming it)."""
    is_sqlite = database.is_sqlite
    key = (is_sqlite, id(sql_fields), filters.shape(flt.where), flt.order_by, flt.order)
    query = _PAGES.get(key, is_sqlite, flt, sql_fields)
    params = {"account_id": account_id, **filters.bound_values(flt.where)}
    rows, page, pages, results = query.rows(database, page_req, params)
    return _decode(rows, is_sqlite), page, pages, results


def one(database, account_id, instance_id):
    """The account's live Linode as a LinodeRow, or None."""
    statement, compiled = _ONE.get(database.is_sqlite, database.is_sqlite)
    params = {"account_id": account_id, "instance_id": instance_id}
    rows = reads.fetch(database, statement, params, compiled)
    return _decode(rows, database.is_sqlite)[0] if rows else None
