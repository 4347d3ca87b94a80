"""A config profile's legacy interfaces one at a time: add, update, delete and reorder,
each a config update (one `config_update` job, one `linode_config_update` event), with
the whole list's rules checked on the list the write leaves; and linode_api4 driving them."""

import pytest
from linode_api4 import Instance, LinodeClient
from linode_api4.objects import Config, ConfigInterface

from cloudapi.schemas.config_interfaces import with_primary
from tests.api.test_instance_configs import configs_url
from tests.api.test_instance_disks import (
    assert_one_write,
    counts,
    empty_linode,
    make_linode,
    reasons,
)
from tests.compat.conftest import token_of

NOT_FOUND = {"errors": [{"reason": "Not found"}]}
FULL = "A config profile can have at most 3 interfaces"
VLAN_NOT_UPDATABLE = "VLAN interfaces cannot be updated; delete it and add a new one"
PUBLIC = {"purpose": "public"}
VPC_ONLY = "{} is not allowed for interfaces that do not have a purpose set to vpc."


def vlan(label, address=None):
    return {"purpose": "vlan", "label": label, **({"ipam_address": address} if address else {})}


@pytest.fixture
def config_url(client, customer):
    """The interfaces URL of the customer's new Linode's one config (no interfaces yet)."""
    _, headers = customer
    linode = make_linode(client, headers)
    (config,) = client.get(configs_url(linode), headers=headers).get_json()["data"]
    return f"{configs_url(linode)}/{config['id']}/interfaces"


def linode_id(url):
    return int(url.split("/")[4])


def add(client, headers, url, body):
    made = client.post(url, json=body, headers=headers)
    assert made.status_code == 200, made.get_json()
    return made.get_json()


def listed(client, headers, url):
    return client.get(url, headers=headers).get_json()


def test_add_appends_public_then_vlan_each_a_config_update(client, customer, db, config_url):
    _, headers = customer
    before = counts(db)
    public = add(client, headers, config_url, {"purpose": "public", "primary": True})
    assert public == {"id": public["id"], "purpose": "public", "label": None,
                      "ipam_address": None, "primary": True, "active": False, "vpc_id": None,
                      "subnet_id": None}  # fmt: skip
    job = assert_one_write(db, before, linode_id(config_url), "config_update",
                           "linode_config_update")  # fmt: skip
    assert job.payload["config_id"] == int(config_url.split("/")[6])
    before = counts(db)
    back = add(client, headers, config_url, {**vlan("back-net", "10.0.0.3/32"), "primary": False})
    assert (back["purpose"], back["label"], back["ipam_address"], back["primary"]) == (
        "vlan", "back-net", "10.0.0.3/32", False)  # fmt: skip
    assert_one_write(db, before, linode_id(config_url), "config_update", "linode_config_update")
    assert listed(client, headers, config_url) == [public, back]
    assert client.get(f"{config_url}/{back['id']}", headers=headers).get_json() == back
    config = client.get(config_url.removesuffix("/interfaces"), headers=headers).get_json()
    assert config["interfaces"] == [public, back]


def test_what_cloud_manager_sends_for_a_public_interface_is_taken(client, customer, config_url):
    _, headers = customer
    body = {"purpose": "public", "label": "", "ipam_address": "", "ip_ranges": []}
    assert add(client, headers, config_url, body)["label"] is None


def test_a_config_has_at_most_three_interfaces(client, customer, db, config_url):
    _, headers = customer
    for body in (PUBLIC, vlan("a"), vlan("b")):
        add(client, headers, config_url, body)
    shown, before = listed(client, headers, config_url), counts(db)
    refused = client.post(config_url, json=vlan("c"), headers=headers)
    assert refused.status_code == 400 and reasons(refused) == [(None, FULL)]
    assert listed(client, headers, config_url) == shown and counts(db) == before


REFUSED_ADDS = [
    ([PUBLIC], PUBLIC, [("purpose", "Only one public interface per config is allowed.")]),
    ([vlan("back")], vlan("back"), [("label", "A Linode can be attached to a VLAN only once")]),
    ([vlan("a", "10.0.0.3/24")], vlan("b", "10.0.0.3/24"),
     [("ipam_address", "Must be unique among the Linode's interfaces")]),
    ([], {"purpose": "vpc", "subnet_id": 7}, [("subnet_id", "Subnet not found")]),
    ([], {"purpose": "vpc"}, [("subnet_id", "Subnet is required.")]),
    ([], {"purpose": "vlan"}, [("label", "VLAN label is required.")]),
    ([], {**vlan("a"), "primary": True},
     [("primary", "VLAN interfaces can't be the primary interface")]),
    ([], {"purpose": "public", "label": "x"},
     [("label", "label is not allowed for interfaces that do not have a purpose set to vlan.")]),
    ([], {"label": "x"}, [("purpose", "Missing data for required field.")]),
    ([], {"purpose": "wifi"}, [("purpose", "Must be one of: public, vlan, vpc.")]),
    ([], {"purpose": "public", "id": 5}, [("id", "Unknown field")]),
    ([], {"purpose": "public", "primary": "yes"}, [("primary", "Not a valid boolean.")]),
]  # fmt: skip


@pytest.mark.parametrize("existing, body, expected", REFUSED_ADDS)
def test_refused_adds_change_nothing(client, customer, db, config_url, existing, body, expected):
    _, headers = customer
    for made in existing:
        add(client, headers, config_url, made)
    shown, before = listed(client, headers, config_url), counts(db)
    refused = client.post(config_url, json=body, headers=headers)
    assert refused.status_code == 400 and reasons(refused) == expected
    assert listed(client, headers, config_url) == shown and counts(db) == before


@pytest.mark.parametrize("raw", [b"[]", b"not json", b""])
def test_a_body_that_is_not_an_object_is_a_400(client, customer, db, config_url, raw):
    _, headers = customer
    before = counts(db)
    refused = client.post(config_url, data=raw, headers={**headers,
                          "Content-Type": "application/json"})  # fmt: skip
    assert refused.status_code == 400 and refused.get_json()["errors"]
    assert counts(db) == before


def test_a_primary_interface_makes_the_others_not_primary():
    """The rule each write applies to the list it leaves (schemas/config_interfaces.py)."""
    listed_ = [{"purpose": "public", "primary": True}, {"purpose": "vpc", "primary": True}]
    assert [i["primary"] for i in with_primary(listed_, 1)] == [False, True]
    assert with_primary([{"purpose": "public"}, {"purpose": "vpc"}], 1) == [
        {"purpose": "public"}, {"purpose": "vpc"}]  # fmt: skip


def test_put_sets_primary_of_a_public_interface(client, customer, db, config_url):
    _, headers = customer
    public = add(client, headers, config_url, PUBLIC)
    back = add(client, headers, config_url, vlan("back"))
    assert public["primary"] is False
    before = counts(db)
    changed = client.put(f"{config_url}/{public['id']}", json={"primary": True}, headers=headers)
    assert changed.status_code == 200 and changed.get_json() == {**public, "primary": True}
    assert_one_write(db, before, linode_id(config_url), "config_update", "linode_config_update")
    assert listed(client, headers, config_url) == [{**public, "primary": True}, back]
    nulls = {"primary": False, "ipv4": None, "ip_ranges": []}  # nothing for a VPC: taken
    again = client.put(f"{config_url}/{public['id']}", json=nulls, headers=headers)
    assert again.status_code == 200 and again.get_json() == public
    empty_ipv4 = {"ipv4": {"vpc": "", "nat_1_1": None}}
    same = client.put(f"{config_url}/{public['id']}", json=empty_ipv4, headers=headers)
    assert same.status_code == 200 and same.get_json() == public


REFUSED_PUTS = [
    ({"ipv4": {"vpc": "10.0.0.2"}}, [("ipv4.vpc", VPC_ONLY.format("ipv4.vpc"))]),
    ({"ipv4": {"nat_1_1": "any"}}, [("ipv4.nat_1_1", VPC_ONLY.format("ipv4.nat_1_1"))]),
    ({"ip_ranges": ["10.0.0.64/26"]}, [("ip_ranges", VPC_ONLY.format("ip_ranges"))]),
    ({"purpose": "vlan"}, [("purpose", "Unknown field")]),
    ({"label": "x"}, [("label", "Unknown field")]),
    ({"primary": 1}, [("primary", "Not a valid boolean.")]),
    ({"ipv4": {"vpc": "nope"}}, [("ipv4.vpc", "Must be a valid IPv4 address, e.g. 192.168.2.0")]),
]  # fmt: skip


@pytest.mark.parametrize("body, expected", REFUSED_PUTS)
def test_refused_puts_change_nothing(client, customer, db, config_url, body, expected):
    _, headers = customer
    public = add(client, headers, config_url, PUBLIC)
    before = counts(db)
    refused = client.put(f"{config_url}/{public['id']}", json=body, headers=headers)
    assert refused.status_code == 400 and reasons(refused) == expected
    assert listed(client, headers, config_url) == [public] and counts(db) == before


@pytest.mark.parametrize("body", [{"primary": False}, {"primary": True}, {}])
def test_a_vlan_interface_cannot_be_updated(client, customer, db, config_url, body):
    _, headers = customer
    back = add(client, headers, config_url, vlan("back", "10.0.0.3/24"))
    before = counts(db)
    refused = client.put(f"{config_url}/{back['id']}", json=body, headers=headers)
    assert refused.status_code == 400 and reasons(refused) == [(None, VLAN_NOT_UPDATABLE)]
    assert listed(client, headers, config_url) == [back] and counts(db) == before


def test_delete_removes_one_and_the_rest_move_up(client, customer, db, config_url):
    _, headers = customer
    public, a, b = (add(client, headers, config_url, body)
                    for body in (PUBLIC, vlan("a"), vlan("b")))  # fmt: skip
    before = counts(db)
    gone = client.delete(f"{config_url}/{public['id']}", headers=headers)
    assert gone.status_code == 200 and gone.get_json() == {}
    assert_one_write(db, before, linode_id(config_url), "config_update", "linode_config_update")
    assert listed(client, headers, config_url) == [a, b]
    assert client.get(f"{config_url}/{public['id']}", headers=headers).status_code == 404
    assert client.delete(f"{config_url}/{public['id']}", headers=headers).status_code == 404
    # eth0..eth1 again: a third one fits, and the order endpoint sees just these.
    c = add(client, headers, config_url, vlan("c"))
    assert listed(client, headers, config_url) == [a, b, c]


def test_order_reorders_keeping_the_ids(client, customer, db, config_url):
    _, headers = customer
    public, a, b = (add(client, headers, config_url, body)
                    for body in (PUBLIC, vlan("a"), vlan("b")))  # fmt: skip
    before = counts(db)
    ids = [b["id"], public["id"], a["id"]]
    done = client.post(f"{config_url}/order", json={"ids": ids}, headers=headers)
    assert done.status_code == 200 and done.get_json() == {}
    assert_one_write(db, before, linode_id(config_url), "config_update", "linode_config_update")
    assert listed(client, headers, config_url) == [b, public, a]
    config = client.get(config_url.removesuffix("/interfaces"), headers=headers).get_json()
    assert [i["id"] for i in config["interfaces"]] == ids
    client.delete(f"{config_url}/{public['id']}", headers=headers)
    assert listed(client, headers, config_url) == [b, a]


def test_order_of_no_interfaces_is_an_empty_list(client, customer, config_url):
    _, headers = customer
    done = client.post(f"{config_url}/order", json={"ids": []}, headers=headers)
    assert done.status_code == 200 and done.get_json() == {}


def _bad_orders(one, two):
    return [
        ({"ids": [one]}, [("ids", f"Must list every interface of this config profile; "
                                  f"missing: {two}")]),
        ({"ids": [one, two, 999999]},
         [("ids", "Not an interface of this config profile: 999999")]),
        ({"ids": [one, one, two]},
         [("ids", f"Each interface id may be listed only once; listed more than once: {one}")]),
        ({"ids": [one, one]}, [
            ("ids", f"Each interface id may be listed only once; listed more than once: {one}"),
            ("ids", f"Must list every interface of this config profile; missing: {two}")]),
        ({"ids": [one, two, 3, 4]}, [("ids", "Must have at most 3 items")]),
        ({}, [("ids", "ids is required")]),
        ({"ids": None}, [("ids", "ids is required")]),
        ({"ids": [str(one), two]}, [("ids[0]", "Not a valid integer.")]),
        ({"ids": [one, two], "extra": 1}, [("extra", "Unknown field")]),
    ]  # fmt: skip


def test_order_must_name_every_interface_once(client, customer, db, config_url):
    _, headers = customer
    one, two = (add(client, headers, config_url, body)["id"] for body in (PUBLIC, vlan("a")))
    shown, before = listed(client, headers, config_url), counts(db)
    for body, expected in _bad_orders(one, two):
        refused = client.post(f"{config_url}/order", json=body, headers=headers)
        assert refused.status_code == 400 and reasons(refused) == expected, body
    assert listed(client, headers, config_url) == shown and counts(db) == before


def _writes(url, interface_id):
    return [
        ("post", url, PUBLIC),
        ("put", f"{url}/{interface_id}", {"primary": True}),
        ("delete", f"{url}/{interface_id}", None),
        ("post", f"{url}/order", {"ids": [interface_id]}),
    ]


def test_unknown_linode_config_or_interface_is_not_found(client, customer, db, config_url):
    _, headers = customer
    public = add(client, headers, config_url, PUBLIC)
    config_id = int(config_url.split("/")[6])
    other_linode = empty_linode(client, headers)
    elsewhere = config_url.replace(f"/{linode_id(config_url)}/", f"/{other_linode['id']}/")
    before = counts(db)
    urls = [
        config_url.replace(f"/{linode_id(config_url)}/", "/999999/"),
        config_url.replace(f"/configs/{config_id}/", "/configs/999999/"),
        elsewhere,
    ]
    for url in urls:
        for method, path, body in _writes(url, public["id"]):
            answer = getattr(client, method)(path, json=body, headers=headers)
            assert (answer.status_code, answer.get_json()) == (404, NOT_FOUND), (method, path)
    for method in ("put", "delete"):
        body = {"primary": True} if method == "put" else None
        answer = getattr(client, method)(f"{config_url}/999999", json=body, headers=headers)
        assert (answer.status_code, answer.get_json()) == (404, NOT_FOUND), method
    assert counts(db) == before and listed(client, headers, config_url) == [public]


def test_another_account_cannot_touch_them(client, customer, make_account, db, config_url):
    _, owner = customer
    _, other = make_account()
    public = add(client, owner, config_url, PUBLIC)
    before = counts(db)
    for method, path, body in _writes(config_url, public["id"]):
        answer = getattr(client, method)(path, json=body, headers=other)
        assert (answer.status_code, answer.get_json()) == (404, NOT_FOUND), (method, path)
    assert counts(db) == before and listed(client, owner, config_url) == [public]


def test_writes_need_the_read_write_grant(client, make_account, db, config_url, customer):
    _, owner = customer
    public = add(client, owner, config_url, PUBLIC)
    _, reader = make_account(scopes="linodes:read_only")
    before = counts(db)
    for method, path, body in _writes(config_url, public["id"]):
        assert getattr(client, method)(path, json=body, headers=reader).status_code == 401
    assert counts(db) == before


# -- linode_api4, unmodified, against the server on loopback -----------------------------


@pytest.mark.slow
def test_linode_api4_drives_config_interfaces(client, customer, live_server, config_url):
    _, headers = customer
    api = LinodeClient(token_of(headers), base_url=f"{live_server.url}/v4", retry=False)
    try:
        instance = Instance(api, linode_id(config_url))
        config = Config(api, int(config_url.split("/")[6]), instance.id)
        public = config.interface_create_public(primary=True)
        back = config.interface_create_vlan(label="back-net", ipam_address="10.0.0.3/32")
        assert (public.purpose, public.primary, back.label, back.ipam_address) == (
            "public", True, "back-net", "10.0.0.3/32")  # fmt: skip
        shown = config.network_interfaces
        assert [(i.id, i.purpose) for i in shown] == [(public.id, "public"), (back.id, "vlan")]
        public.primary = False
        public.save()
        assert listed(client, headers, config_url)[0]["primary"] is False
        config.interface_reorder([back, public.id])
        assert [i["id"] for i in listed(client, headers, config_url)] == [back.id, public.id]
        back.delete()
        assert [i["id"] for i in listed(client, headers, config_url)] == [public.id]

        config = Config(api, config.id, instance.id)
        config.interfaces = [ConfigInterface(purpose="public", primary=True),
                             ConfigInterface(purpose="vlan", label="front",
                                             ipam_address="10.0.1.3/24")]  # fmt: skip
        config.save()
        again = Config(api, config.id, instance.id)
        assert [(i.purpose, i.primary, i.label) for i in again.interfaces] == [
            ("public", True, None), ("vlan", False, "front")]  # fmt: skip
        assert [i.purpose for i in again.network_interfaces] == ["public", "vlan"]
    finally:
        api.session.close()
