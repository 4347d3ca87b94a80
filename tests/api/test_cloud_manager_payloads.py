"""Create payloads as Cloud Manager sends them, validated as Linode validates them.

The reference is npm `@linode/validation` 0.83 `CreateLinodeSchema` (the config-profile
interface rules of `ConfigProfileInterfaceSchema`, whose messages are used here) and
linode-openapi.yaml's `interfaces`. Every accepted case below passes `CreateLinodeSchema`
(checked with node); every refused one fails it too, or breaks a rule the spec states
that the client does not check (VLAN label characters: its regex is unanchored; unique
VLAN labels and IPAM addresses; one primary), or needs what only the server knows (no
VPC exists here; JSON types are exact, where yup casts "7" to 7).
"""

import pytest
from sqlalchemy import select

from cloudapi.db.jobs import Job
from tests.support.rows import counts

URL = "/v4/linode/instances"
BASE = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": "Gpu-Demo-2026!x"}  # fmt: skip
PUBLIC = {"purpose": "public", "label": "", "ipam_address": ""}
VLAN = {"purpose": "vlan", "label": "my-vlan", "ipam_address": ""}
NOT_FOR_VLAN = "is not allowed for interfaces that do not have a purpose set to vlan."
NOT_FOR_VPC = "is not allowed for interfaces that do not have a purpose set to vpc."


def create(client, headers, **fields):
    return client.post(URL, json={**BASE, **fields}, headers=headers)


def errors_of(response):
    return [(e.get("field"), e["reason"]) for e in response.get_json()["errors"]]


def test_cloud_managers_vlan_create_is_accepted(client, customer):
    """What Cloud Manager's Linode Create page POSTs with "Attach a VLAN" filled in."""
    _, headers = customer
    body = {**BASE, "label": "debian-us-east", "tags": [], "booted": True,
            "backups_enabled": False, "private_ip": False, "authorized_users": [],
            "firewall_id": None, "interfaces": [PUBLIC, VLAN]}  # fmt: skip
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["label"] == "debian-us-east"


@pytest.mark.parametrize(
    "interfaces",
    [
        [{**VLAN, "ipam_address": "10.0.0.1/24"}],
        [{"purpose": "public", "label": None, "ipam_address": None, "primary": True},
         {"purpose": "vlan", "label": "v-1", "ipam_address": None}],
        [{"purpose": "public", "ipv4": {"vpc": "", "nat_1_1": ""}}],
        [{"purpose": "public", "subnet_id": None, "vpc_id": None, "ip_ranges": None}],
        [PUBLIC, {**VLAN, "label": "a" * 64}, {**VLAN, "label": "b-2", "primary": False}],
        [],
    ],
)  # fmt: skip
def test_valid_interface_lists_are_accepted(client, customer, interfaces):
    _, headers = customer
    response = create(client, headers, interfaces=interfaces)
    assert response.status_code == 200, response.get_json()


# Each case: the interfaces, and the (field, reason) list of the 400.
REFUSED = [
    ([PUBLIC, {**VLAN, "primary": True}],
     [("interfaces[1].primary", "VLAN interfaces can't be the primary interface")]),
    ([{"purpose": "vlan"}], [("interfaces[0].label", "VLAN label is required.")]),
    ([{**VLAN, "label": ""}], [("interfaces[0].label", "VLAN label is required.")]),
    ([{**VLAN, "label": None}], [("interfaces[0].label", "VLAN label is required.")]),
    ([{**VLAN, "label": "my_vlan"}],
     [("interfaces[0].label", "Must include only ASCII letters, numbers, and dashes")]),
    ([{**VLAN, "label": "my--vlan"}],
     [("interfaces[0].label", "Must not contain two dashes in a row")]),
    ([{**VLAN, "label": "v" * 65}],
     [("interfaces[0].label", "VLAN label must be between 1 and 64 characters.")]),
    ([{**VLAN, "ipam_address": "10.0.0.1"}],
     [("interfaces[0].ipam_address", "Must be a valid IPv4 range, e.g. 192.0.2.0/24.")]),
    ([{**VLAN, "ipam_address": "nonsense/24"}],
     [("interfaces[0].ipam_address", "Must be a valid IPv4 range, e.g. 192.0.2.0/24.")]),
    ([{"purpose": "public", "label": "eth0"}], [("interfaces[0].label", f"label {NOT_FOR_VLAN}")]),
    ([{"purpose": "public", "ipam_address": "10.0.0.1/24"}],
     [("interfaces[0].ipam_address", f"ipam_address {NOT_FOR_VLAN}")]),
    ([{"purpose": "public", "subnet_id": 5}],
     [("interfaces[0].subnet_id", f"subnet_id {NOT_FOR_VPC}")]),
    ([{"purpose": "public", "vpc_id": 5}], [("interfaces[0].vpc_id", f"vpc_id {NOT_FOR_VPC}")]),
    ([{**VLAN, "ip_ranges": ["10.0.0.0/24"]}],
     [("interfaces[0].ip_ranges", f"ip_ranges {NOT_FOR_VPC}")]),
    ([{"purpose": "public", "ipv4": {"vpc": "10.0.0.2"}}],
     [("interfaces[0].ipv4.vpc", f"ipv4.vpc {NOT_FOR_VPC}")]),
    ([{"purpose": "public", "ipv4": {"nat_1_1": "any"}}],
     [("interfaces[0].ipv4.nat_1_1", f"ipv4.nat_1_1 {NOT_FOR_VPC}")]),
    ([{"purpose": "vpc", "subnet_id": 5, "vpc_id": 7}],
     [("interfaces[0].subnet_id", "Subnet not found"), ("interfaces[0].vpc_id", "VPC not found")]),
    ([{"purpose": "vpc", "subnet_id": 5, "ipv4": {"nat_1_1": "any"}, "ip_ranges": []}],
     [("interfaces[0].subnet_id", "Subnet not found")]),
    ([{"purpose": "vpc"}], [("interfaces[0].subnet_id", "Subnet is required.")]),
    ([{"purpose": "vpc", "subnet_id": 5, "vpc_id": "7"}],
     [("interfaces[0].vpc_id", "Not a valid integer."),
      ("interfaces[0].subnet_id", "Subnet not found")]),
    ([{"purpose": "vpc", "subnet_id": 5, "ipv4": {"vpc": "10.0.0"}}],
     [("interfaces[0].ipv4.vpc", "Must be a valid IPv4 address, e.g. 192.168.2.0"),
      ("interfaces[0].subnet_id", "Subnet not found")]),
    ([PUBLIC, PUBLIC],
     [("interfaces[1].purpose", "Only one public interface per config is allowed.")]),
    ([{"purpose": "public", "primary": True}, {"purpose": "vpc", "subnet_id": 5, "primary": True}],
     [("interfaces[1].primary", "Only one interface may be primary"),
      ("interfaces[1].subnet_id", "Subnet not found")]),
    ([VLAN, {**VLAN, "ipam_address": "10.0.0.2/24"}],
     [("interfaces[1].label", "A Linode can be attached to a VLAN only once")]),
    ([{**VLAN, "ipam_address": "10.0.0.2/24"},
      {**VLAN, "label": "v-2", "ipam_address": "10.0.0.2/24"}],
     [("interfaces[1].ipam_address", "Must be unique among the Linode's interfaces")]),
]  # fmt: skip


@pytest.mark.parametrize(("interfaces", "expected"), REFUSED)
def test_invalid_interfaces_are_400_in_linodes_words(client, customer, db, interfaces, expected):
    _, headers = customer
    before = counts(db)
    response = create(client, headers, interfaces=interfaces)
    assert response.status_code == 400
    assert sorted(errors_of(response)) == sorted(expected)
    assert counts(db) == before


def test_the_vlans_of_a_create_reach_the_host_agent(client, customer, db):
    """Accepted VLAN interfaces are not dropped: the create job carries them to the agent."""
    _, headers = customer
    vlan = {**VLAN, "ipam_address": "10.0.0.1/24"}
    made = create(client, headers, interfaces=[{"purpose": "public"}, vlan]).get_json()
    with db.reader() as session:
        job = session.scalars(select(Job).where(Job.instance_id == made["id"])).one()
    assert job.action == "create"
    assert [i["purpose"] for i in job.payload["interfaces"]] == ["public", "vlan"]
    assert job.payload["interfaces"][1]["label"] == "my-vlan"
    assert job.payload["interfaces"][1]["ipam_address"] == "10.0.0.1/24"
