"""The allocator's holes: a freed slot is taken first, one no release recorded is found.

The lowest free slot is the smaller of the lowest freed one (`freed_slots`, which every
release writes) and the one after the highest held; a hole nothing recorded (a claim
whose transaction rolled back after a later slot was committed) is found by a full scan,
run only once every pool of the region looks full (cloudapi/services/address_slots.py).
"""

import pytest
from sqlalchemy import create_engine, delete, event, select, text

from cloudapi.db.addresses import Address, AddressPool, FreedSlot
from cloudapi.services import address_windows
from tests.api.test_instance_ips import _insert, create, reasons, swapped_pools
from tests.support import databases

SMALL = [("100.127.255.0/29", "100.127.255.1")]  # .2 to .6: five addresses


def _public(linode):
    return linode["ipv4"][0]


def _freed(db, network=SMALL[0][0]):
    """The freed slots of the pool `network`."""
    with db.reader() as session:
        query = select(FreedSlot.slot).join(AddressPool, AddressPool.id == FreedSlot.pool_id)
        return sorted(session.scalars(query.where(AddressPool.network == network)))


def test_a_delete_frees_its_slots_and_the_next_create_takes_the_lowest(client, customer, db):
    with swapped_pools(db, "us-west", True, SMALL):
        _first_free_after_deletes(client, customer[1], db)


def _first_free_after_deletes(client, headers, db):
    made = [create(client, headers, region="us-west").get_json() for _ in range(4)]
    assert [_public(m) for m in made] == [f"100.127.255.{n}" for n in (2, 3, 4, 5)]
    for gone in (made[2], made[1]):
        gone = client.delete(f"/v4/linode/instances/{gone['id']}", headers=headers)
        assert gone.status_code == 200
    assert _freed(db) == [3, 4]
    again = [_public(create(client, headers, region="us-west").get_json()) for _ in range(3)]
    assert again == ["100.127.255.3", "100.127.255.4", "100.127.255.6"]
    assert _freed(db) == []


def test_a_hole_no_release_recorded_is_found_before_the_region_refuses(client, customer, db):
    """A slot left free without a freed_slots row is taken once the pool looks full."""
    with swapped_pools(db, "us-west", True, SMALL):
        _hole_then_full(client, customer[1], db)


def _hole_then_full(client, headers, db):
    made = [create(client, headers, region="us-west").get_json() for _ in range(5)]
    with db.transaction() as session:  # as a claim rolled back after later ones committed
        session.execute(delete(Address).where(Address.address == "100.127.255.4"))
    assert _freed(db) == []
    hole = create(client, headers, region="us-west")
    assert hole.status_code == 200, hole.get_json()
    assert _public(hole.get_json()) == "100.127.255.4"
    full = create(client, headers, region="us-west")
    assert reasons(full) == [("region", "No public IPv4 addresses are left in us-west")]
    assert len(made) == 5


def test_a_create_reads_the_same_address_rows_however_many_are_held(client, customer, db):
    """Cost flat: the allocator's statements return one row each, at 3 or 40 held."""
    _, headers = customer
    returned = []

    def count(conn, cursor, statement, params, context, executemany):
        if "addresses" in statement or "freed_slots" in statement:
            returned.append(cursor.rowcount if cursor.description is not None else 0)

    def create_cost():
        returned.clear()
        event.listen(db.engine, "after_cursor_execute", count)
        try:
            assert create(client, headers).status_code == 200
        finally:
            event.remove(db.engine, "after_cursor_execute", count)
        return list(returned)

    for _ in range(3):
        create(client, headers)
    few = create_cost()
    for _ in range(37):
        create(client, headers)
    many = create_cost()
    assert few == many, (few, many)


def test_slots_others_are_claiming_cost_a_create_no_statement_more(client, customer, db):
    """PostgreSQL: while other transactions claim the next slots (their advisory locks),
    a create takes the first slot nobody claims, in as many statements as with none."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: no claim runs beside another")
    _, headers = customer
    with swapped_pools(db, "us-west", True, SMALL):
        with db.reader() as session:
            pool = session.scalar(select(AddressPool.id).where(AddressPool.network == SMALL[0][0]))
        alone = _address_statements(db, lambda: create(client, headers, region="us-west"))
        assert _public(alone[0].get_json()) == "100.127.255.2"
        with db.engine.connect() as other:  # claiming .3 and .4, its transaction open
            for slot in (3, 4):
                key = {"space": address_windows.LOCK_SPACE + pool, "slot": slot}
                assert other.scalar(text("SELECT pg_try_advisory_xact_lock(:space, :slot)"), key)
            beside = _address_statements(db, lambda: create(client, headers, region="us-west"))
            other.rollback()
        assert _public(beside[0].get_json()) == "100.127.255.5"
        assert beside[1] == alone[1], (alone[1], beside[1])


def _address_statements(db, call):
    """(what `call()` returned, how many statements it ran on addresses or freed slots)."""
    seen = []

    def count(conn, cursor, statement, params, context, executemany):
        if "addresses" in statement or "freed_slots" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        return call(), len(seen)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_the_upgrade_records_the_holes_pools_already_have(tmp_path):
    """Migration 0022: every unheld slot below a pool's highest held one, gateway aside."""
    url = f"sqlite:///{tmp_path / 'up.sqlite'}"
    databases.migrate(url, "0021")
    engine = create_engine(url)
    now = "2026-01-01 00:00:00"
    try:
        with engine.begin() as conn:
            pool = conn.scalar(text("SELECT id FROM address_pools WHERE network = '100.64.0.0/24'"))
            _insert(conn, "accounts", {"id": 1, "email": "a@example.com", "username": "a",
                                       "euuid": "e", "company": "", "created": now})  # fmt: skip
            _insert(conn, "instances", {
                "id": 1, "account_id": 1, "label": "l1", "group_name": "", "region_id": "us-east",
                "type_id": "g6-nanode-1", "status": "running", "created": now, "updated": now,
                "has_user_data": False, "watchdog_enabled": True, "backups_enabled": False,
                "swap_size": 512, "disk_encryption": "disabled", "private_ip": False,
                "maintenance_policy": "linode/migrate", "alerts": "{}"})  # fmt: skip
            for slot in (2, 3, 6):
                held = {"pool_id": pool, "slot": slot, "address": f"100.64.0.{slot}"}
                _insert(conn, "addresses", {**held, "instance_id": 1, "created": now})
        databases.migrate(url, "0022")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT pool_id, slot FROM freed_slots ORDER BY slot"))
            assert [tuple(r) for r in rows] == [(pool, 4), (pool, 5)]  # slot 1: the gateway
    finally:
        engine.dispose()
