"""An instance's addresses (/linode/instances/{id}/ips) and the account's (/networking/ips)."""

import ipaddress

from flask import Blueprint

from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, owned, principal
from cloudapi.api.pagination import listed
from cloudapi.db.addresses import IPV4, IPV6
from cloudapi.services import addresses

bp = Blueprint("ips", __name__)
INSTANCE_IPS = "/linode/instances/<int:instance_id>/ips"
# Linode's default reverse DNS of a public IPv4 (what a null `rdns` resets it to).
DEFAULT_RDNS = "{}.ip.linodeusercontent.com"
LINK_LOCAL_MASK = "ffff:ffff:ffff:ffff::"
# -- shapes -------------------------------------------------------------------------------


def rdns_of(address):
    if address.rdns is not None:
        return address.rdns
    if address.type == IPV4 and address.public:
        return DEFAULT_RDNS.format(address.address.replace(".", "-"))
    return None


def ip_address(address):
    """Linode's IPAddress object (its VPC NAT is left out: no VPCs exist here)."""
    pool = address.pool
    return {
        "address": address.address,
        "gateway": pool.gateway,
        "subnet_mask": pool.subnet_mask,
        "prefix": pool.prefix,
        "type": pool.type,
        "public": pool.public,
        "rdns": rdns_of(address),
        "linode_id": address.instance_id,
        "region": pool.region_id,
        "interface_id": None,
    }


def _slaac(instance):
    return next((a for a in addresses.here(instance) if a.type == IPV6), None)


def _link_local(slaac):
    """The link-local address: fe80::/64 with the SLAAC address's interface id."""
    interface_id = int(ipaddress.ip_address(slaac.address)) & (2**64 - 1)
    return {
        **ip_address(slaac),
        "address": str(ipaddress.IPv6Address((0xFE80 << 112) | interface_id)),
        "subnet_mask": LINK_LOCAL_MASK,
        "prefix": 64,
        "public": False,
        "rdns": None,
    }


def linode_ips(instance):
    """GET .../ips: the instance's addresses by kind (no shared, reserved, VPC or ranges)."""
    ipv4 = [a for a in addresses.here(instance) if a.type == IPV4]
    slaac = _slaac(instance)
    return {
        "ipv4": {
            "public": [ip_address(a) for a in ipv4 if a.public],
            "private": [ip_address(a) for a in ipv4 if not a.public],
            "shared": [],
            "reserved": [],
            "vpc": [],
        },
        "ipv6": {
            "slaac": ip_address(slaac) if slaac else None,
            "link_local": _link_local(slaac) if slaac else None,
            "global": [],
        },
    }


def linode_ipv4(instance):
    """The Linode object's `ipv4`: public addresses first, then private, oldest first."""
    ipv4 = [a for a in addresses.here(instance) if a.type == IPV4]
    return [a.address for a in sorted(ipv4, key=lambda a: not a.public)]


def linode_ipv6(instance):
    """The Linode object's `ipv6`: its SLAAC address as a /128."""
    slaac = _slaac(instance)
    return f"{slaac.address}/128" if slaac else None


# -- an instance's addresses ----------------------------------------------------------------


@bp.get(INSTANCE_IPS)
@customer_required("linodes")
def list_instance_ips(instance_id):
    return owned(addresses.instance_of, instance_id, render=linode_ips)


@bp.post(INSTANCE_IPS)
@customer_required("linodes", write=True)
def add_instance_ip(instance_id):
    return ip_address(addresses.add(database(), principal(), instance_id, body()))


@bp.get(f"{INSTANCE_IPS}/<address>")
@customer_required("linodes")
def get_instance_ip(instance_id, address):
    with database().reader() as session:
        instance = addresses.instance_of(session, principal().account_id, instance_id)
        return ip_address(addresses.of_instance(instance, address))


@bp.put(f"{INSTANCE_IPS}/<address>")
@customer_required("linodes", write=True)
def update_instance_ip(instance_id, address):
    changed = addresses.set_rdns(database(), principal(), address, body(), instance_id)
    return ip_address(changed)


@bp.delete(f"{INSTANCE_IPS}/<address>")
@customer_required("linodes", write=True)
def remove_instance_ip(instance_id, address):
    addresses.remove(database(), principal(), instance_id, address)
    return {}


# -- the account's addresses ----------------------------------------------------------------


@bp.get("/networking/ips")
@customer_required("ips")
def list_ips():
    return listed(addresses.listing, ip_address)


@bp.get("/networking/ips/<address>")
@customer_required("ips")
def get_ip(address):
    return owned(addresses.of_account, address, render=ip_address)


@bp.put("/networking/ips/<address>")
@customer_required("ips", write=True)
def update_ip(address):
    return ip_address(addresses.set_rdns(database(), principal(), address, body()))
