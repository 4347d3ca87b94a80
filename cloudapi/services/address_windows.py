"""Claiming a window of slots in one statement, on PostgreSQL (address_slots.py, step 2).

A claim of a slot above a pool's highest held one tries the free slots after it too, in
the same INSERT: the first of them not held (as of the statement) whose advisory lock is
free is inserted. A create's first claim of each kind (public IPv4, private IPv4, SLAAC)
goes in one statement for all of them: each kind's INSERT a CTE of it.
"""

import functools

from sqlalchemy import DateTime, Integer, String, bindparam, cast, exists, func, select, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from cloudapi.db.addresses import Address

# How many consecutive slots one claim tries: more than the creates that run at once in a
# region, so that each of them claims its address in one statement.
CLAIM_WINDOW = 32
# The first key of the two-key advisory locks: "AD" in the high half, the pool id below.
LOCK_SPACE = 0x4144 << 16


def window(pool, slot, upto):
    """The slots a claim of `slot` tries, in order: `slot`, then free ones up to `upto`."""
    gateway = pool.bounds()[2]
    return [s for s in range(slot, min(upto, slot + CLAIM_WINDOW - 1) + 1) if s != gateway]


@functools.lru_cache(maxsize=8192)
def _address_at(network, slot):
    return str(network.network_address + slot)


def params(pool, tried, instance_id, created, suffix=""):
    """The parameters of a window claim of `tried` (window()'s slots) in `pool`.

    The addresses of consecutive creates' windows overlap but for one slot: they are
    formatted once per process (ipaddress is slow enough to show in a create's profile).
    """
    addresses = [_address_at(pool.net, s) for s in tried]
    return {f"pool{suffix}": pool.id, f"slots{suffix}": tried, f"addresses{suffix}": addresses,
            f"lock_space{suffix}": LOCK_SPACE + pool.id, f"instance{suffix}": instance_id,
            f"created{suffix}": created}  # fmt: skip


def adopt(session, pool, inserted, instance_id, created):
    """The Address of a claim's inserted (id, slot, address, ...), persistent in `session`
    as if loaded (nothing reads it back)."""
    row = {"pool_id": pool.id, "slot": inserted[1], "address": inserted[2],
           "instance_id": instance_id, "created": created, "rdns": None}  # fmt: skip
    held = Address(id=inserted[0], **row)
    make_transient_to_detached(held)
    session.add(held)
    set_committed_value(held, "pool", pool)
    return held


def _claim(suffix=""):
    """The INSERT of one window claim, its parameters named with `suffix`, returning the
    row inserted (id, slot, address, pool_id) or none.

    The candidates are scanned in order and the scan stops at the first row that passes
    (LIMIT 1, no ORDER BY), so only that slot's lock is taken: concurrent creates that
    read the same highest held slot each take the next slot nobody is claiming, in one
    statement, instead of one statement per slot they find claimed.
    """
    typed = {"pool": Integer, "instance": Integer, "created": DateTime}
    values = {name: bindparam(f"{name}{suffix}", type_=kind) for name, kind in typed.items()}
    slots = func.unnest(
        bindparam(f"slots{suffix}", type_=postgresql.ARRAY(Integer)),
        bindparam(f"addresses{suffix}", type_=postgresql.ARRAY(String)),
    )
    found = slots.table_valued("slot", "address").render_derived()
    lock = func.pg_try_advisory_xact_lock(
        cast(bindparam(f"lock_space{suffix}", type_=Integer), Integer), cast(found.c.slot, Integer)
    )
    held = exists().where(Address.pool_id == values["pool"], Address.slot == found.c.slot)
    source = select(
        values["pool"].label("pool_id"),
        found.c.slot,
        found.c.address,
        values["instance"].label("instance_id"),
        values["created"].label("created"),
    ).where(~held, lock)
    columns = ["pool_id", "slot", "address", "instance_id", "created"]
    insert = postgresql.insert(Address.__table__).from_select(columns, source.limit(1))
    table = Address.__table__.c
    return insert.on_conflict_do_nothing().returning(
        table.id, table.slot, table.address, table.pool_id
    )


@functools.cache
def statement():
    """One window claim (parameters without a suffix)."""
    return _claim()


@functools.cache
def statement_for(count):
    """`count` window claims in different pools, parameters suffixed _0, _1, ...: the rows
    inserted, each (id, slot, address, pool_id)."""
    claims = [_claim(f"_{n}").cte(f"claim_{n}") for n in range(count)]
    return union_all(*(select(*c.c) for c in claims))
