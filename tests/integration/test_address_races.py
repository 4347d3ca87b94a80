"""Address allocation races through real gunicorn workers: no address is ever held twice.

Each burst starts its requests together on a barrier (as tests/integration/test_races.py
does), across 4 worker processes of 4 threads each; the test then reads what was written.
"""

import ipaddress
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from cloudapi.db.addresses import Address, AddressPool
from cloudapi.db.instances import Instance
from cloudapi.db.jobs import Job
from tests.api.test_instance_ips import swapped_pools
from tests.integration.test_races import _burst, _env
from tests.support.gunicorn import Gunicorn
from tests.support.inventory import check_invariants

pytestmark = pytest.mark.slow

BODY = {"image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x"}


def _holdings(db):
    """{instance id: [(kind, address), ...]} of every address held, and the live ids."""
    with db.reader() as session:
        rows = session.execute(
            select(Address.instance_id, AddressPool.type, AddressPool.public, Address.address)
            .join(AddressPool, AddressPool.id == Address.pool_id)
            .order_by(Address.id)
        ).all()
        live = set(session.scalars(select(Instance.id).where(Instance.deleted_at.is_(None))))
    found = {}
    for instance_id, type_, public, address in rows:
        kind = "public" if type_ == "ipv4" and public else "private" if type_ == "ipv4" else "v6"
        found.setdefault(instance_id, []).append((kind, address))
    return found, live


def _create(url, headers, body):
    return lambda: requests.post(url, json={**BODY, **body}, headers=headers, timeout=60)


def test_creates_and_deletes_at_once_never_share_an_address(
    app, add_host, make_account, db, tmp_path
):
    """32 creates (8 of them GPU plans, half with a private IPv4) and 8 deletes, at once.

    Every create succeeds (the region has room), each live instance holds exactly its
    addresses, none twice, the deleted ones none; the public addresses are the lowest
    slots of the region's first pool (at most 40 were ever held at once).
    """
    add_host("gpu-1.us-east")
    add_host("gpu-2.us-east")
    _, headers = make_account(tags=("employee",))
    with Gunicorn(_env(app), workers=4, log_path=tmp_path / "g.log") as server:
        url = f"{server.url}/v4/linode/instances"
        first = [_create(url, headers, {"type": "g6-nanode-1", "region": "us-east",
                                        "private_ip": i % 2 == 0})() for i in range(8)]  # fmt: skip
        gone = [r.json()["id"] for r in first]
        bodies = [{"type": "g1-gpu-rtx6000-1" if i < 8 else "g6-nanode-1", "region": "us-east",
                   "private_ip": i % 2 == 1} for i in range(32)]  # fmt: skip
        calls = [_create(url, headers, b) for b in bodies]
        calls += [lambda i=i: requests.delete(f"{url}/{i}", headers=headers, timeout=60)
                  for i in gone]  # fmt: skip
        answers = _burst(calls)
    creates, deletes = answers[:32], answers[32:]
    assert [r.status_code for r in creates] == [200] * 32, [r.text for r in creates if not r.ok]
    assert [r.status_code for r in deletes] == [200] * 8
    holdings, live = _holdings(db)
    made = {r.json()["id"]: (r.json(), body) for r, body in zip(creates, bodies, strict=True)}
    assert live == set(made) and set(holdings) == set(made)  # the deleted hold nothing
    everything = [a for held in holdings.values() for _, a in held]
    assert len(everything) == len(set(everything)) == 32 * 2 + 16, "an address held twice"
    for instance_id, (linode, body) in made.items():
        kinds = Counter(kind for kind, _ in holdings[instance_id])
        assert kinds == Counter(public=1, v6=1, private=1 if body["private_ip"] else 0)
        held = dict(holdings[instance_id])
        shown = [held["public"]] + ([held["private"]] if body["private_ip"] else [])
        assert (linode["ipv4"], linode["ipv6"]) == (shown, f"{held['v6']}/128")
    lowest = {str(ipaddress.ip_address("100.64.0.2") + n) for n in range(40)}
    assert {held["public"] for held in map(dict, holdings.values())} <= lowest
    check_invariants(db)


def test_a_burst_fills_a_small_pool_exactly(app, make_account, db, tmp_path):
    """32 creates at once against 29 public IPv4s: 29 succeed, 3 get the 400, none twice."""
    _, headers = make_account()
    with (
        swapped_pools(db, "us-west", True, [("100.127.255.0/27", "100.127.255.1")]),
        Gunicorn(_env(app), workers=4, log_path=tmp_path / "g.log") as server,
    ):
        url = f"{server.url}/v4/linode/instances"
        body = {"type": "g6-nanode-1", "region": "us-west"}
        answers = _burst([_create(url, headers, body) for _ in range(32)])
        holdings, live = _holdings(db)
        with db.reader() as session:
            jobs = session.scalar(select(func.count()).where(Job.action == "create"))
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: 29, 400: 3}, [r.text for r in answers if r.status_code != 200]
    assert {r.json()["errors"][0]["reason"] for r in answers if r.status_code == 400} == {
        "No public IPv4 addresses are left in us-west"
    }
    made = {r.json()["id"] for r in answers if r.status_code == 200}
    assert live == made == set(holdings) and jobs == 29  # the refused wrote nothing
    publics = [a for held in holdings.values() for kind, a in held if kind == "public"]
    assert sorted(publics, key=ipaddress.ip_address) == [f"100.127.255.{n}" for n in range(2, 31)]
