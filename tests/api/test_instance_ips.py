"""Instance addresses from the regions' pools: /linode/instances/{id}/ips and /networking/ips."""

import ipaddress
from contextlib import ExitStack, contextmanager

import pytest
from sqlalchemy import create_engine, delete, event, func, insert, inspect, select, text

from cloudapi.db import migrate as migrations
from cloudapi.db.addresses import Address, AddressPool
from cloudapi.db.catalog import Region
from tests.support import databases
from tests.support.rows import counts

STRONG = "Gpu-Demo-2026!x"
BASE = {"type": "g6-nanode-1", "region": "us-east", "image": "linode/debian12",
        "root_pass": STRONG}  # fmt: skip
PRIVATE_NET = ipaddress.ip_network("192.168.128.0/17")
TECHNICAL = ("Additional IPv4 addresses require technical justification.  "
             "Please open a Support Ticket describing your requirement")  # fmt: skip


def create(client, headers, **fields):
    return client.post("/v4/linode/instances", json={**BASE, **fields}, headers=headers)


def ips(client, headers, linode_id):
    response = client.get(f"/v4/linode/instances/{linode_id}/ips", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def reasons(response):
    return [(e.get("field"), e["reason"]) for e in response.get_json()["errors"]]


def held(db, *where):
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(Address).where(*where))


@contextmanager
def swapped_pools(db, region, public, networks, type_="ipv4", prefix=None):
    """`region`'s pools of one kind replaced by `networks` ((network, gateway) pairs).

    On the way out the addresses taken from them go (their instances stay, for the
    test's own clean-up) and the region's own pools come back, with their ids.
    """
    kind = (AddressPool.region_id == region, AddressPool.type == type_,
            AddressPool.public == public)  # fmt: skip
    columns = ("id", "region_id", "type", "public", "network", "prefix", "gateway")
    with db.transaction() as session:
        saved = [{c: getattr(p, c) for c in columns}
                 for p in session.scalars(select(AddressPool).where(*kind))]  # fmt: skip
        session.execute(delete(AddressPool).where(*kind))
        for network, gateway in networks:
            session.add(AddressPool(
                region_id=region, type=type_, public=public, network=network, gateway=gateway,
                prefix=prefix or ipaddress.ip_network(network).prefixlen,
            ))  # fmt: skip
    try:
        yield
    finally:
        with db.transaction() as session:
            tiny = select(AddressPool.id).where(*kind)
            session.execute(delete(Address).where(Address.pool_id.in_(tiny)))
            session.execute(delete(AddressPool).where(*kind))
            session.execute(insert(AddressPool), saved)


@pytest.fixture
def tiny_pools(db):
    """Swap a region's pools of one kind for tiny ones until the test ends."""
    with ExitStack() as stack:
        yield lambda *args, **kwargs: stack.enter_context(swapped_pools(db, *args, **kwargs))


def test_every_region_has_its_three_pools(db):
    with db.reader() as session:
        regions = set(session.scalars(select(Region.id)))
        kinds = session.execute(select(AddressPool.region_id, AddressPool.type,
                                       AddressPool.public)).all()  # fmt: skip
    for kind in (("ipv4", True), ("ipv4", False), ("ipv6", True)):
        assert {r for r, *k in kinds if tuple(k) == kind} == regions, kind


def test_create_allocates_public_ipv4_and_slaac(client, customer):
    _, headers = customer
    linode = create(client, headers).get_json()
    public, slaac = linode["ipv4"][0], linode["ipv6"]
    assert len(linode["ipv4"]) == 1
    assert public == "100.64.0.2"  # us-east's first /24, the lowest after its gateway (.1)
    assert slaac.endswith("/128") and ipaddress.ip_address(slaac[:-4]) in ipaddress.ip_network(
        "2001:db8:100::/64"
    )
    found = ips(client, headers, linode["id"])
    assert [a["address"] for a in found["ipv4"]["public"]] == [public]
    assert found["ipv4"]["private"] == found["ipv4"]["shared"] == found["ipv4"]["vpc"] == []
    assert found["ipv4"]["public"][0] == {
        "address": public, "gateway": "100.64.0.1", "subnet_mask": "255.255.255.0",
        "prefix": 24, "type": "ipv4", "public": True, "linode_id": linode["id"],
        "region": "us-east", "rdns": "100-64-0-2.ip.linodeusercontent.com",
        "interface_id": None,
    }  # fmt: skip
    v6 = found["ipv6"]
    assert v6["slaac"]["address"] == slaac[:-4] and v6["slaac"]["prefix"] == 64
    assert v6["slaac"]["gateway"] == "fe80::1" and v6["global"] == []
    link_local = ipaddress.ip_address(v6["link_local"]["address"])
    assert link_local.is_link_local and v6["link_local"]["public"] is False


def test_create_with_private_ip_lists_it_after_the_public_one(client, customer):
    _, headers = customer
    linode = create(client, headers, private_ip=True).get_json()
    public, private = linode["ipv4"]
    assert ipaddress.ip_address(private) in PRIVATE_NET
    assert ipaddress.ip_address(public) not in PRIVATE_NET
    entry = ips(client, headers, linode["id"])["ipv4"]["private"]
    assert [e["address"] for e in entry] == [private]
    assert (entry[0]["prefix"], entry[0]["subnet_mask"], entry[0]["public"]) == (
        17, "255.255.128.0", False)  # fmt: skip
    one = client.get(f"/v4/linode/instances/{linode['id']}/ips/{private}", headers=headers)
    assert (one.get_json()["gateway"], one.get_json()["rdns"]) == (None, None)
    assert client.get(f"/v4/linode/instances/{linode['id']}", headers=headers).get_json()[
        "ipv4"
    ] == [public, private]


def test_networking_ips_lists_the_accounts_public_addresses(client, customer, make_account):
    _, headers = customer
    a = create(client, headers, private_ip=True).get_json()
    b = create(client, headers, region="eu-central").get_json()
    create(client, make_account()[1])  # another account's: not listed
    listed = client.get("/v4/networking/ips", headers=headers).get_json()
    assert (listed["page"], listed["pages"], listed["results"]) == (1, 1, 4)
    assert {x["address"] for x in listed["data"]} == {
        a["ipv4"][0],
        a["ipv6"][:-4],
        b["ipv4"][0],
        b["ipv6"][:-4],
    }  # private addresses are left out, as Linode leaves them out
    assert {x["region"] for x in listed["data"] if x["linode_id"] == b["id"]} == {"eu-central"}
    private = client.get(f"/v4/networking/ips/{a['ipv4'][1]}", headers=headers)
    assert private.status_code == 200 and private.get_json()["public"] is False
    paged = client.get("/v4/networking/ips?page_size=25&page=9", headers=headers).get_json()
    assert paged["page"] == 1 and len(paged["data"]) == 4


def test_rdns_round_trips_and_null_resets_it(client, customer):
    _, headers = customer
    linode = create(client, headers, private_ip=True).get_json()
    public, private = linode["ipv4"]
    url = f"/v4/linode/instances/{linode['id']}/ips/{public}"
    put = client.put(url, json={"rdns": "web-1.example.org"}, headers=headers)
    assert put.status_code == 200 and put.get_json()["rdns"] == "web-1.example.org"
    assert client.get(url, headers=headers).get_json()["rdns"] == "web-1.example.org"
    assert (
        client.get(f"/v4/networking/ips/{public}", headers=headers).get_json()["rdns"]
        == "web-1.example.org"
    )
    reset = client.put(f"/v4/networking/ips/{public}", json={"rdns": None}, headers=headers)
    assert reset.get_json()["rdns"] == "100-64-0-2.ip.linodeusercontent.com"
    slaac = linode["ipv6"][:-4].upper()  # any textual form of the address names it
    v6 = client.put(f"/v4/networking/ips/{slaac}", json={"rdns": "v6.example.org."},
                    headers=headers)  # fmt: skip
    assert v6.status_code == 200 and v6.get_json()["rdns"] == "v6.example.org."
    assert ips(client, headers, linode["id"])["ipv6"]["slaac"]["rdns"] == "v6.example.org."
    v6 = client.put(f"/v4/networking/ips/{slaac}", json={"rdns": None}, headers=headers)
    assert v6.get_json()["rdns"] is None
    for bad in ({"rdns": "no_underscores.example.org"}, {"rdns": "single"}, {"rdns": 5}, {}):
        refused = client.put(url, json=bad, headers=headers)
        assert refused.status_code == 400 and reasons(refused)[0][0] == "rdns", bad
    on_private = client.put(f"/v4/networking/ips/{private}", json={"rdns": "p.example.org"},
                            headers=headers)  # fmt: skip
    assert on_private.status_code == 400 and reasons(on_private)[0][0] == "rdns"


def test_add_a_private_ip_once_and_never_a_second_public(client, customer, db):
    _, headers = customer
    linode = create(client, headers).get_json()
    url = f"/v4/linode/instances/{linode['id']}/ips"
    added = client.post(url, json={"type": "ipv4", "public": False}, headers=headers)
    assert added.status_code == 200, added.get_json()
    private = added.get_json()
    assert private["public"] is False and private["linode_id"] == linode["id"]
    assert ipaddress.ip_address(private["address"]) in PRIVATE_NET
    shown = client.get(f"/v4/linode/instances/{linode['id']}", headers=headers).get_json()
    assert shown["ipv4"] == [linode["ipv4"][0], private["address"]]
    again = client.post(url, json={"type": "ipv4", "public": False}, headers=headers)
    assert again.status_code == 400 and "more than one private" in reasons(again)[0][1]
    public = client.post(url, json={"type": "ipv4", "public": True}, headers=headers)
    assert public.status_code == 400 and reasons(public) == [(None, TECHNICAL)]
    for bad, field in (
        ({"type": "ipv6", "public": False}, "type"),
        ({"type": "ipv4"}, "public"),
        ({"type": "ipv4", "public": 0}, "public"),
    ):
        refused = client.post(url, json=bad, headers=headers)
        assert refused.status_code == 400 and reasons(refused)[0][0] == field, bad
    assert held(db, Address.instance_id == linode["id"]) == 3


def test_delete_removes_an_additional_address_only(client, customer):
    _, headers = customer
    linode = create(client, headers, private_ip=True).get_json()
    public, private = linode["ipv4"]
    url = f"/v4/linode/instances/{linode['id']}/ips"
    assert client.delete(f"{url}/{public}", headers=headers).status_code == 400
    assert client.delete(f"{url}/{linode['ipv6'][:-4]}", headers=headers).status_code == 400
    assert client.delete(f"{url}/{private}", headers=headers).get_json() == {}
    assert ips(client, headers, linode["id"])["ipv4"]["private"] == []
    assert client.delete(f"{url}/{private}", headers=headers).status_code == 404
    assert client.delete(f"{url}/not-an-address", headers=headers).status_code == 404
    assert client.get(f"{url}/192.168.0.1", headers=headers).status_code == 404
    readd = client.post(url, json={"type": "ipv4", "public": False}, headers=headers)
    assert readd.get_json()["address"] == private  # freed, so the lowest free again


def test_deleting_the_instance_frees_its_addresses(client, customer, db):
    _, headers = customer
    first = create(client, headers, private_ip=True).get_json()
    assert client.delete(f"/v4/linode/instances/{first['id']}", headers=headers).status_code == 200
    assert held(db, Address.instance_id == first["id"]) == 0
    second = create(client, headers, private_ip=True).get_json()
    assert (second["ipv4"], second["ipv6"]) == (first["ipv4"], first["ipv6"])


def test_another_accounts_instance_and_addresses_are_not_found(client, customer, make_account):
    _, headers = customer
    _, other = make_account()
    linode = create(client, headers, private_ip=True).get_json()
    address = linode["ipv4"][0]
    base = f"/v4/linode/instances/{linode['id']}/ips"
    answers = [
        client.get(base, headers=other),
        client.post(base, json={"type": "ipv4", "public": False}, headers=other),
        client.get(f"{base}/{address}", headers=other),
        client.put(f"{base}/{address}", json={"rdns": "x.example.org"}, headers=other),
        client.delete(f"{base}/{linode['ipv4'][1]}", headers=other),
        client.get(f"/v4/networking/ips/{address}", headers=other),
        client.put(f"/v4/networking/ips/{address}", json={"rdns": None}, headers=other),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers)
    assert client.get("/v4/networking/ips", headers=other).get_json()["results"] == 0
    assert len(ips(client, headers, linode["id"])["ipv4"]["private"]) == 1  # nothing changed


def test_scopes(client, make_account):
    _, full = make_account()
    linode = create(client, full).get_json()
    _, linodes_ro = make_account(scopes="linodes:read_only")
    _, ips_ro = make_account(scopes="ips:read_only")
    assert client.get("/v4/networking/ips", headers=linodes_ro).status_code == 401
    assert client.get("/v4/networking/ips", headers=ips_ro).status_code == 200
    put = client.put(f"/v4/networking/ips/{linode['ipv4'][0]}", json={"rdns": None},
                     headers=ips_ro)  # fmt: skip
    assert put.status_code == 401
    post = client.post(f"/v4/linode/instances/{linode['id']}/ips",
                       json={"type": "ipv4", "public": False}, headers=linodes_ro)  # fmt: skip
    assert post.status_code == 401


def test_a_full_pool_is_a_400_and_the_create_writes_nothing(client, customer, db, tiny_pools):
    """us-west's public IPv4 becomes two /30s: one address each (.2 and .6)."""
    _, headers = customer
    tiny_pools("us-west", True, [("100.127.255.0/30", "100.127.255.1"),
                                 ("100.127.255.4/30", "100.127.255.5")])  # fmt: skip
    west = {"region": "us-west"}
    a = create(client, headers, **west).get_json()
    b = create(client, headers, **west).get_json()
    assert (a["ipv4"], b["ipv4"]) == (["100.127.255.2"], ["100.127.255.6"])  # the next pool
    before, addresses = counts(db), held(db)
    full = create(client, headers, **west)
    assert full.status_code == 400
    assert reasons(full) == [("region", "No public IPv4 addresses are left in us-west")]
    assert (counts(db), held(db)) == (before, addresses)
    client.delete(f"/v4/linode/instances/{a['id']}", headers=headers)
    assert create(client, headers, **west).get_json()["ipv4"] == ["100.127.255.2"]


def test_a_full_private_pool_refuses_the_create_and_the_post(client, customer, db, tiny_pools):
    _, headers = customer
    tiny_pools("us-west", False, [("192.168.255.252/30", None)], prefix=17)  # .253, .254
    west = {"region": "us-west", "private_ip": True}
    create(client, headers, **west)
    taken = create(client, headers, **west).get_json()
    assert taken["ipv4"][1] == "192.168.255.254"
    before, addresses = counts(db), held(db)
    full = create(client, headers, **west)
    assert reasons(full) == [("private_ip", "No private IPv4 addresses are left in us-west")]
    assert (counts(db), held(db)) == (before, addresses)  # its public IPv4 was not kept
    plain = create(client, headers, region="us-west").get_json()
    post = client.post(f"/v4/linode/instances/{plain['id']}/ips",
                       json={"type": "ipv4", "public": False}, headers=headers)  # fmt: skip
    assert reasons(post) == [("public", "No private IPv4 addresses are left in us-west")]
    assert len(plain["ipv4"]) == 1


def _insert(conn, table, values):
    names, params = ", ".join(values), ", ".join(f":{n}" for n in values)
    conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({params})"), values)


def test_the_upgrade_gives_live_instances_their_addresses(tmp_path):
    """Migration 0014 on a database with instances: the live ones get addresses, lowest first."""
    url = f"sqlite:///{tmp_path / 'up.sqlite'}"
    databases.migrate(url, "0013")
    engine = create_engine(url)
    now = "2026-01-01 00:00:00"
    common = {"account_id": 1, "group_name": "", "type_id": "g6-nanode-1", "status": "running",
              "created": now, "updated": now, "has_user_data": False, "watchdog_enabled": True,
              "backups_enabled": False, "swap_size": 512, "disk_encryption": "disabled",
              "maintenance_policy": "linode/migrate", "alerts": "{}"}  # fmt: skip
    rows = [(1, "us-east", True, None), (2, "us-east", False, None),
            (3, "eu-central", True, now), (4, "ap-south", False, None)]  # fmt: skip
    account = {"id": 1, "email": "a@example.com", "username": "a", "euuid": "e", "company": "",
               "created": now}  # fmt: skip
    with engine.begin() as conn:
        _insert(conn, "accounts", account)
        for instance_id, region, private, deleted in rows:
            _insert(conn, "instances", {**common, "id": instance_id, "label": f"l{instance_id}",
                                        "region_id": region, "private_ip": private,
                                        "deleted_at": deleted})  # fmt: skip
    try:
        databases.migrate(url, "0014")
        with engine.connect() as conn:
            held = conn.execute(text("SELECT instance_id, address FROM addresses ORDER BY id"))
            assert [tuple(r) for r in held] == [
                (1, "100.64.0.2"), (1, "192.168.128.1"), (1, "2001:db8:100::1"),
                (2, "100.64.0.3"), (2, "2001:db8:100::2"),
                (4, "100.67.0.2"), (4, "2001:db8:100:3::1"),
            ]  # fmt: skip
        migrations.downgrade(url, "0013")
        assert "addresses" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_page_of_linodes_reads_its_addresses_in_one_query(client, customer, db):
    """Listing 2 or 8 Linodes reads addresses (and their pools) with one statement."""
    _, headers = customer
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def listing_cost():
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = client.get("/v4/linode/instances", headers=headers).get_json()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert all(len(linode["ipv4"]) == 2 and linode["ipv6"] for linode in page["data"])
        return len([s for s in statements if "address" in s])

    for _ in range(2):
        create(client, headers, private_ip=True)
    few = listing_cost()
    for _ in range(6):
        create(client, headers, private_ip=True)
    assert listing_cost() == few == 1


@pytest.mark.slow
def test_linode_api4_reads_allocates_renames_and_removes(client, customer, live_server):
    """The official SDK, unmodified: Instance.ips, ip_allocate, IPAddress.save and delete."""
    from linode_api4 import ExplicitNullValue, Instance, IPAddress, LinodeClient

    _, headers = customer
    made = create(client, headers).get_json()
    sdk = LinodeClient(headers["Authorization"].removeprefix("Bearer "),
                       base_url=f"{live_server.url}/v4", retry=False)  # fmt: skip
    try:
        linode = sdk.load(Instance, made["id"])
        ips_ = linode.ips
        assert [a.address for a in ips_.ipv4.public] == made["ipv4"] and ips_.ipv4.private == []
        assert ips_.ipv6.slaac.address == made["ipv6"][:-4] and ips_.ipv6.slaac.rdns is None
        assert ips_.ipv6.link_local.address.startswith("fe80::")
        private = linode.ip_allocate(public=False)
        assert isinstance(private, IPAddress) and private.public is False
        public = sdk.load(IPAddress, made["ipv4"][0])
        public.rdns = "sdk.example.org"
        public.save()
        assert sdk.load(IPAddress, made["ipv4"][0]).rdns == "sdk.example.org"
        public.rdns = ExplicitNullValue
        public.save()
        assert sdk.load(IPAddress, made["ipv4"][0]).rdns.endswith(".ip.linodeusercontent.com")
        listed = {a.address for a in sdk.networking.ips()}
        assert listed == {made["ipv4"][0], made["ipv6"][:-4]}
        assert private.delete() is True
        assert sdk.load(Instance, made["id"]).ips.ipv4.private == []
    finally:
        sdk.session.close()
