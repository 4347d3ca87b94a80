"""Taking one address for an instance from its region's pools, and giving it back.

Runs inside the caller's transaction (a create's or a delete's, through
services/instance_parts.py, or one of the /ips use cases of addresses.py). To take
one address of a kind (public IPv4, private IPv4, SLAAC IPv6) in a region:

1. The region's pools of that kind, oldest first; in each, the lowest freed slot above a
   floor (`freed_slots`, written by every release) and the highest held slot: the lowest
   free slot is the smaller of that freed slot and the one after the highest held. Two
   index lookups, however many addresses the pool holds; the first try reads them for
   every pool of the region in the query that reads the pools.
2. Claim the slot with one INSERT ... ON CONFLICT DO NOTHING. On PostgreSQL its SELECT
   first takes a transaction-scoped advisory lock on (pool, slot), only tried, never
   waited for (`pg_try_advisory_xact_lock`): a slot another transaction is claiming right
   now is locked by it until it ends, so the claimer skips it at once instead of queueing
   behind that transaction's insert, and concurrent creates spread over consecutive slots
   without waiting on one another. A slot above the highest held is tried with the free
   ones after it (CLAIM_WINDOW) in the same statement: creates that read the same highest
   held slot each claim a slot in one statement, not one per slot another is claiming.
   The unique constraints (pool, slot) and (address) are what guarantee nothing is held
   twice: an insert that loses (the slot was taken and committed after step 1 read it)
   inserts nothing and the transaction goes on.
3. A skipped or lost slot raises the floor and step 1 runs again, from a new snapshot
   (READ COMMITTED). The floor only rises, so this ends. When every pool of the region
   looks full, each is searched again with a full scan of its held slots (the query
   step 1 replaces), for a hole no release recorded: a slot claimed by a transaction
   that rolled back after a later slot was committed. So the allocation fails only when
   every slot is held or being claimed by another transaction: then the use case fails
   with a 400 naming what ran out, and its transaction (the whole create) is rolled back.
SQLite serialises writers (BEGIN IMMEDIATE), so there step 1 already sees every slot.

Release deletes the rows and records their slots as freed: a freed address is the lowest
free candidate again at once.
"""

import functools
from dataclasses import dataclass, field

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from cloudapi.db.addresses import IPV4, IPV6, Address, AddressPool, FreedSlot
from cloudapi.db.base import utcnow
from cloudapi.errors import Invalid
from cloudapi.services import address_windows as windows

KINDS = {(IPV4, True): "public IPv4", (IPV4, False): "private IPv4", (IPV6, True): "IPv6"}


def exhausted(kind, region_id):
    return f"No {KINDS[kind]} addresses are left in {region_id}"


def _scan_lowest_free(session, pool, floor):
    """The lowest free slot of `pool` above `floor`, or None, from its held slots alone.

    The gaps after held slots, the network's first slot and the slot after the gateway
    are the only candidates. It reads every held slot above `floor`, so it runs only when
    the pool looks full (step 3).
    """
    first, last, gateway = pool.bounds()
    held, later = aliased(Address), aliased(Address)
    starts = [select(literal(max(first, floor + 1), Integer).label("slot"))]
    if gateway is not None:
        starts.append(select(literal(gateway + 1, Integer).label("slot")))
    starts.append(
        select((held.slot + 1).label("slot")).where(held.pool_id == pool.id, held.slot >= floor)
    )
    candidates = union_all(*starts).subquery()
    slot = candidates.c.slot
    taken = exists().where(later.pool_id == pool.id, later.slot == slot)
    where = [slot > floor, slot >= first, slot <= last, ~taken]
    if gateway is not None:
        where.append(slot != gateway)
    return session.scalar(select(func.min(slot)).where(*where))


def _lowest_freed(pool_id, *above):
    return select(func.min(FreedSlot.slot)).where(FreedSlot.pool_id == pool_id, *above)


def _highest_held(pool_id):
    return select(func.max(Address.slot)).where(Address.pool_id == pool_id)


# Step 1's statement, built once: the lowest freed slot above the floor, the highest held.
_LOWEST_AND_TOP = select(
    _lowest_freed(bindparam("pool"), FreedSlot.slot > bindparam("floor")).scalar_subquery(),
    _highest_held(bindparam("pool")).scalar_subquery(),
)
_UNFREE = delete(FreedSlot).where(FreedSlot.pool_id == bindparam("pool"),
                                  FreedSlot.slot == bindparam("slot"))  # fmt: skip
# A region's pools, each with step 1's two figures at floor 0: a first try needs no more.
_POOLS = (
    select(
        AddressPool,
        _lowest_freed(AddressPool.id).scalar_subquery(),
        _highest_held(AddressPool.id).scalar_subquery(),
    )
    .where(AddressPool.region_id == bindparam("region"))
    .order_by(AddressPool.id)
)


@dataclass
class Pools:
    """A region's pools by kind ((type, public): [pool, ...] oldest first), and the marks
    (lowest freed slot, highest held slot) read with them, each for its pool's first try."""

    by_kind: dict = field(default_factory=dict)
    marks: dict = field(default_factory=dict)


def _lowest_free(session, pool, floor, scan, marks=None):
    """(slot, freed, upto) for the lowest free slot of `pool` above `floor`, or None
    (step 1).

    `freed` says the slot has a `freed_slots` row, which its claim removes. `upto` is
    the highest slot a claim may fall back to when this one is being claimed: every slot
    from `slot` to it is free as far as step 1 can tell (above the highest held, below
    the next freed one). With `scan`, a pool that looks full is scanned for a hole no
    release recorded (step 3). `marks`: the pool's (lowest freed, highest held) when
    already read (pools_in, floor 0).
    """
    first, last, gateway = pool.bounds()
    if marks is None:
        marks = session.execute(_LOWEST_AND_TOP, {"pool": pool.id, "floor": floor}).one()
    freed, top = marks
    after = max(first, floor + 1, (top or 0) + 1)
    if after == gateway:
        after += 1
    if freed is not None and freed <= after:
        return freed, True, freed
    if after <= last:
        return after, False, last if freed is None else freed - 1
    hole = _scan_lowest_free(session, pool, floor) if scan else None
    return None if hole is None else (hole, False, hole)


def _dialect(session):
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def _insert_new(dialect, model, columns, source):
    """INSERT INTO model (columns) SELECT source ON CONFLICT DO NOTHING, in `dialect`.

    A row that would break a unique constraint is skipped without failing the statement,
    so the transaction goes on without a savepoint. (SQLite needs the SELECT's WHERE,
    which `source` always has, to parse the ON CONFLICT clause.)
    """
    # The table, not the entity: an ORM-enabled INSERT with parameters is a bulk insert.
    statement = dialect.insert(model.__table__).from_select(columns, source)
    return statement.on_conflict_do_nothing()


@functools.cache
def _claim_statement(dialect):
    """Step 2's INSERT for `dialect` (built once): a row unless the slot is held or claimed.

    On PostgreSQL its SELECT tries the advisory lock on (pool, slot) first, so a slot
    another transaction is claiming inserts nothing; SQLite serialises writers.
    """
    row = {"pool_id": bindparam("pool", type_=Integer), "slot": bindparam("slot", type_=Integer),
           "address": bindparam("address", type_=String),
           "instance_id": bindparam("instance", type_=Integer),
           "created": bindparam("created", type_=DateTime)}  # fmt: skip
    unless_claimed = literal(True)
    if dialect is postgresql:
        key = cast(bindparam("lock_space", type_=Integer), Integer), cast(row["slot"], Integer)
        unless_claimed = func.pg_try_advisory_xact_lock(*key)
    source = select(*(value.label(name) for name, value in row.items())).where(unless_claimed)
    return _insert_new(dialect, Address, list(row), source).returning(Address.__table__.c.id)


def _claim(session, pool, found, instance_id):
    """Step 2: insert the slot `found` (_lowest_free's answer) names unless another
    transaction holds or claims it; on PostgreSQL, the next slot nobody claims if it is.

    Returns (the new Address or None, the floor to look above next). The Address is persistent
    in `session` as if loaded (it is made from what was inserted: nothing reads it back).
    """
    slot, freed, upto = found
    now = utcnow()
    dialect = _dialect(session)
    tried = windows.window(pool, slot, upto) if dialect is postgresql and not freed else [slot]
    if len(tried) > 1:
        params = windows.params(pool, tried, instance_id, now)
        inserted = session.execute(windows.statement(), params).first()
    else:
        params = {"pool": pool.id, "instance": instance_id, "created": now,
                  "lock_space": windows.LOCK_SPACE + pool.id, "slot": slot,
                  "address": pool.address_at(slot)}  # fmt: skip
        inserted = session.execute(_claim_statement(dialect), params).first()
        if inserted is not None:
            inserted = (inserted[0], slot, params["address"])
    # None: the slots tried are claimed by others or held by now, or the one this statement
    # chose was committed by another just before (ON CONFLICT): look again above `slot` only,
    # as slots after the chosen one may be free.
    if inserted is None:
        return None, slot
    if freed:
        session.execute(_UNFREE, {"pool": pool.id, "slot": slot})
    return windows.adopt(session, pool, inserted, instance_id, now), inserted[1]


def _first_tries(session, kinds, pools):
    """For each kind whose first try is a window claim (the marks of its first pool with
    room name a slot above the highest held): (kind, pool, slots to try)."""
    tries = []
    for kind in kinds:
        for pool in pools.by_kind.get(kind, []):
            marks = pools.marks.get(pool.id)
            found = None if marks is None else _lowest_free(session, pool, 0, False, marks)
            if found is not None:  # else full as the marks tell: the next pool
                if not found[1]:
                    tries.append((kind, pool, windows.window(pool, found[0], found[2])))
                break
    return tries


def allocate_all(session, instance, kinds, pools):
    """allocate() for each (kind, field) of `kinds`, in order, in `instance`'s region
    (`pools`: pools_in() of it). On PostgreSQL the first try of every kind goes in one
    statement (address_windows.statement_for); a kind it gave nothing goes allocate()'s
    way from the start, its pool's marks read again."""
    if _dialect(session) is not postgresql:
        return [allocate(session, instance, kind, name, pools=pools) for kind, name in kinds]
    tries, now, params = _first_tries(session, [k for k, _ in kinds], pools), utcnow(), {}
    for n, (_, pool, tried) in enumerate(tries):
        params.update(windows.params(pool, tried, instance.id, now, suffix=f"_{n}"))
    inserted = {}
    if tries:
        statement = windows.statement_for(len(tries))
        inserted = {row.pool_id: row for row in session.execute(statement, params)}
    pool_of = {kind: pool for kind, pool, _ in tries}
    held = []
    for kind, name in kinds:
        pool = pool_of.get(kind)
        if pool is not None and pool.id in inserted:
            held.append(windows.adopt(session, pool, inserted[pool.id], instance.id, now))
            continue
        if pool is not None:
            pools.marks.pop(pool.id, None)  # claimed by others meanwhile: read again
        held.append(allocate(session, instance, kind, name, pools=pools))
    return held


def pools_in(session, region_id):
    """The region's Pools, with their marks, in one query."""
    found = Pools()
    for pool, freed, top in session.execute(_POOLS, {"region": region_id}):
        found.by_kind.setdefault((pool.type, pool.public), []).append(pool)
        found.marks[pool.id] = (freed, top)
    return found


def allocate(session, instance, kind, field, region_id=None, pools=None):
    """Give `instance` one address of `kind` ((type, public)) in its region (or in
    `region_id`) and return it, or a 400. `pools` is pools_in() of that region, when
    already read (its marks serve one first try per pool: full pools ahead cost no query
    of their own)."""
    region_id = region_id or instance.region_id
    if pools is None:
        pools = pools_in(session, region_id)
    for scan in (False, True):  # the holes no release recorded only when all looks full
        for pool in pools.by_kind.get(kind, []):
            floor, marks = 0, pools.marks.pop(pool.id, None)
            while (found := _lowest_free(session, pool, floor, scan, marks)) is not None:
                held, floor = _claim(session, pool, found, instance.id)
                if held is not None:
                    return held
                marks = None  # claimed by others: look above what was tried
    raise Invalid.field(field, exhausted(kind, region_id))


def free(session, *where):
    """Delete the addresses matching `where`, recording their slots as freed."""
    gone = select(Address.pool_id, Address.slot).where(*where)
    session.execute(_insert_new(_dialect(session), FreedSlot, ["pool_id", "slot"], gone))
    session.execute(delete(Address).where(*where))
