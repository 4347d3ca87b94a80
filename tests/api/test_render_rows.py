"""The instance list, the single GET and the events page, read as rows and encoded with
orjson, answer byte for byte what the ORM path and Flask's stdlib encoder answer.

The reference is the pipeline these endpoints used before (an ORM page through
`page_of`, `render.instance` / `render.event`, `json.dumps` with Flask's settings), run on
the same database (written first, it matched the old endpoints on every case); the page
is made representative on purpose: tags (with non-ASCII,
quotes and backslashes on the "odd" variant), public, private and another region's
addresses in a non-sorted id order, a GPU plan, alerts, a backups schedule, both host
UUID forms, and events of several actions with and without a secondary entity.
"""

import json
import threading
from datetime import datetime

import pytest
from flask.json.provider import _default as flask_default
from sqlalchemy import event, insert, select, update

from cloudapi import filters
from cloudapi.api import render
from cloudapi.api.pagination import PageRequest, envelope
from cloudapi.db import row_pages
from cloudapi.db.addresses import Address, AddressPool
from cloudapi.db.instances import Instance, InstanceTag
from cloudapi.db.jobs import Event
from cloudapi.services import events, instances
from tests.support.rows import set_status

BASE = {"region": "us-east", "image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x"}
URL = "/v4/linode/instances"


def stdlib_bytes(payload):
    """What Flask's DefaultJSONProvider (sort_keys off) answered for `payload`."""
    text = json.dumps(payload, default=flask_default, ensure_ascii=True, sort_keys=False,
                      separators=(",", ":"))  # fmt: skip
    return f"{text}\n".encode()


def _create(client, headers, base=BASE, **fields):
    response = client.post(URL, json={**base, "type": "g6-standard-2", **fields}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id"]


def _pool(session, region, kind, public):
    return session.scalar(select(AddressPool.id).where(
        AddressPool.region_id == region, AddressPool.type == kind,
        AddressPool.public.is_(public)).order_by(AddressPool.id))  # fmt: skip


def _addresses(db, instance_id, odd):
    """A private address, then a second public one (public shown first), and one held in
    another region (not shown), as during a move to another data center."""
    with db.transaction() as session:
        rows = [
            (_pool(session, "us-east", "ipv4", False), 900, "192.168.131.250"),
            (_pool(session, "us-east", "ipv4", True), 250, "100.64.0.250"),
            (_pool(session, "eu-central", "ipv4", True), 251, "100.66.0.251"),
            (_pool(session, "eu-central", "ipv6", True), 77, "2001:db8:100:2::4d"),
        ]
        session.execute(insert(Address), [
            {"pool_id": pool, "slot": slot + odd, "address": address[:-1] + str(odd),
             "instance_id": instance_id} for pool, slot, address in rows])  # fmt: skip


def _odd_values(db, ids, odd):
    """Values the schemas would refuse but the database holds: they must still render."""
    first, second, third = ids[:3]
    tags = ["zz", "Ab", "ünï", 'quo"te', "back\\slash", "del\x7f"] if odd else ["zz", "Ab"]
    alerts = {
        "cpu": 90,
        "network_in": 10,
        "network_out": 10,
        "transfer_quota": 80,
        "io": 10000 + odd,
    }
    with db.transaction() as session:
        session.execute(insert(InstanceTag), [{"instance_id": second, "tag": t} for t in tags])
        session.execute(update(Instance).where(Instance.id == first).values(
            host_uuid="ab" * 20, backups_enabled=True, backup_day="Sunday",
            backup_window="W4", alerts=alerts, has_user_data=True))  # fmt: skip
        session.execute(update(Instance).where(Instance.id == third).values(
            host_uuid="6e7b7f0e-8d1a-4c3e-9a55-2f8e1c2d3b4a", group="grp",
            disk_encryption="enabled", watchdog_enabled=False))  # fmt: skip
        session.execute(insert(Event), [{
            "account_id": session.scalar(select(Instance.account_id).where(Instance.id == first)),
            "action": "firewall_device_add", "created": datetime(2099, 1, 1, 0, 0, n),
            "entity_type": "firewall", "entity_id": 7, "entity_label": "fw-ü" if odd else "fw",
            "secondary_entity_type": "linode", "secondary_entity_id": str(first),
            "secondary_entity_label": "web", "status": "finished", "percent_complete": 100,
            "duration": 2.5 * n + (3e-05 if odd else 0), "message": "m\u2028" if odd else "m",
            "username": "someone", "seen": bool(n % 2), "read": False,
        } for n in range(3)])  # fmt: skip


@pytest.fixture(params=["plain", "odd"])
def page(request, client, make_account, gpu_hosts, db):
    """An account's representative page; `odd` adds values the fast encoder hands back."""
    odd = int(request.param == "odd")
    account_id, headers = make_account(tags=("employee",))
    ids = [_create(client, headers, label="web", tags=["prod", "abc"]),
           _create(client, headers, label="db-1", region="eu-central", tags=["prod"]),
           _create(client, headers, {"region": "us-west"}, label="nano", type="g6-nanode-1"),
           _create(client, headers, label="gpu", type="g1-gpu-rtx6000-2")]  # fmt: skip
    extra = [_create(client, headers, label=f"extra-{n}", tags=[f"tag-{n}"]) for n in range(4)]
    set_status(db, ids[0], "running")
    for action in ("shutdown", "boot", "reboot"):  # whichever the status allows: events
        client.post(f"{URL}/{ids[0]}/{action}", headers=headers)
    assert client.delete(f"{URL}/{extra[-1]}", headers=headers).status_code == 200
    _addresses(db, ids[0], odd)
    _odd_values(db, ids, odd)
    return account_id, headers, ids


def _reference_list(app, account_id, listing, shape, flt, page_req):
    db = app.extensions["cloudapi.db"]
    with db.reader() as session:
        items, number, pages, results = listing(session, account_id, flt, page_req)
        return stdlib_bytes(envelope([shape(i) for i in items], number, pages, results))


def _instance_shape(app):
    snap = app.extensions["cloudapi.catalog"].snapshot()
    return lambda i: render.instance(i, snap.types[i.type_id], snap.regions[i.region_id].site_type)


LISTS = [
    ({}, None, PageRequest()),
    ({"tags": "prod"}, None, PageRequest()),
    ({"+order_by": "label", "+order": "desc"}, None, PageRequest()),
    ({"+order_by": "group", "+order": "desc"}, None, PageRequest()),
    ({"+order_by": "image"}, "page_size=25", PageRequest(1, 25)),
    ({"+or": [{"type": "g6-nanode-1"}, {"label": {"+contains": "EXTRA"}}]}, None, PageRequest()),
    ({}, "page=2&page_size=25", PageRequest(2, 25)),
    # The shapes above again with other values: the statement kept for a shape binds them.
    ({"tags": "abc"}, None, PageRequest()),
    ({"+or": [{"type": "g6-standard-2"}, {"label": {"+contains": "_1"}}]}, None, PageRequest()),
]


@pytest.mark.parametrize(("flt", "query", "page_req"), LISTS)
def test_the_instance_list_is_byte_identical(app, client, page, flt, query, page_req):
    account_id, headers, _ = page
    header = {"X-Filter": json.dumps(flt)} if flt else {}
    got = client.get(f"{URL}?{query or ''}", headers={**headers, **header})
    assert got.status_code == 200
    parsed = filters.parse(json.dumps(flt), instances.FILTERABLE)
    want = _reference_list(app, account_id, instances.listing, _instance_shape(app), parsed,
                           page_req)  # fmt: skip
    assert got.data == want


@pytest.mark.parametrize(("flt", "query", "page_req"), [LISTS[0], LISTS[2], LISTS[-1]])
def test_a_deep_page_reads_the_same(app, client, page, flt, query, page_req, monkeypatch):
    """Past row_pages.DEEP_OFFSET a page takes its ids first: the same bytes."""
    monkeypatch.setattr(row_pages, "DEEP_OFFSET", 0)
    test_the_instance_list_is_byte_identical(app, client, page, flt, query, page_req)
    test_the_events_page_is_byte_identical(app, client, page, {})


def test_each_instance_get_is_byte_identical(app, client, page):
    account_id, headers, ids = page
    shape = _instance_shape(app)
    with app.extensions["cloudapi.db"].reader() as session:
        for instance_id in ids:
            want = stdlib_bytes(shape(instances.get(session, account_id, instance_id)))
            assert client.get(f"{URL}/{instance_id}", headers=headers).data == want


@pytest.mark.parametrize("flt", [{}, {"action": "linode_boot"}, {"action": "linode_create"},
                                 {"+order_by": "created", "+order": "asc"}])  # fmt: skip
def test_the_events_page_is_byte_identical(app, client, page, flt):
    account_id, headers, _ = page
    header = {"X-Filter": json.dumps(flt)} if flt else {}
    got = client.get("/v4/account/events", headers={**headers, **header})
    assert got.status_code == 200 and (flt or len(got.get_json()["data"]) > 8)
    parsed = filters.parse(json.dumps(flt), events.FILTERABLE)
    want = _reference_list(app, account_id, events.listing, render.event, parsed, PageRequest())
    assert got.data == want


def test_a_page_past_the_end_is_the_last_page(app, client, page):
    account_id, headers, _ = page
    got = client.get(f"{URL}?page=9&page_size=25", headers=headers)
    want = _reference_list(app, account_id, instances.listing, _instance_shape(app),
                           filters.Filter(), PageRequest(1, 25))  # fmt: skip
    assert got.data == want and got.get_json()["page"] == 1


@pytest.mark.parametrize("query", ["page=727128152", "page=313972198188710720&page_size=395"])
def test_a_page_far_past_the_end_is_the_last_page(app, client, page, query):
    """An OFFSET beyond any integer the database takes is past the end, not a 500."""
    account_id, headers, _ = page
    got = client.get(f"{URL}?{query}", headers=headers)
    size = int(query.partition("page_size=")[2] or 100)
    want = _reference_list(app, account_id, instances.listing, _instance_shape(app),
                           filters.Filter(), PageRequest(1, size))  # fmt: skip
    assert got.status_code == 200 and got.data == want


def test_an_empty_account_lists_nothing(client, customer):
    _, headers = customer
    for path in (URL, f"{URL}?page=3", "/v4/account/events"):
        got = client.get(path, headers=headers)
        assert got.data == b'{"data":[],"page":1,"pages":1,"results":0}\n'


def test_each_read_is_one_statement(client, page, db):
    """A page (its tags, addresses and count included) or one Linode: one statement; the
    token is resolved from the principal cache (warmed by the fixture's requests)."""
    _, headers, ids = page
    seen = []
    requests_thread = threading.get_ident()  # the test client serves in this thread

    def count(conn, cursor, statement, *args):
        # Not the flag watcher's version check (a thread of its own), nor SQLite's BEGIN.
        if threading.get_ident() == requests_thread and not statement.startswith("BEGIN"):
            seen.append(statement)

    for path in (URL, f"{URL}?page=1&page_size=25", f"{URL}/{ids[0]}", "/v4/account/events"):
        client.get(path, headers=headers)  # the principal cache, fresh
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(path, headers=headers).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(seen) == 1, (path, seen)
        seen.clear()
