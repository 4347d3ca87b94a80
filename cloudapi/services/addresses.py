"""Instance addresses from the regions' pools: allocated in a create, freed in a delete.

The allocator (address_slots.py) takes one address of a kind in the caller's
transaction; this module gives a new instance its set, frees them with it, and serves
/linode/instances/{id}/ips and /networking/ips.
"""

import ipaddress

from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from cloudapi.db.addresses import IPV4, IPV6, Address, AddressPool
from cloudapi.db.instances import Instance
from cloudapi.db.paging import page_of
from cloudapi.errors import Invalid, NotFound
from cloudapi.schemas import load
from cloudapi.schemas.ips import AddressCreateSchema, RdnsSchema
from cloudapi.services import address_slots

TECHNICAL_JUSTIFICATION = (
    "Additional IPv4 addresses require technical justification.  "
    "Please open a Support Ticket describing your requirement"
)
ONE_PRIVATE = "You may not add more than one private IPv4 address to a single Linode"
LAST_PUBLIC = "A Linode must keep at least one public IPv4 address"
SLAAC_STAYS = "A Linode's SLAAC IPv6 address cannot be removed"
PRIVATE_RDNS = "Private IPv4 addresses have no RDNS"


_HELD = select(Address).where(Address.instance_id == bindparam("instance")).order_by(Address.id)


def _reload(session, instance):
    """Load `instance.addresses` now, so it renders after the transaction too."""
    rows = session.scalars(_HELD, {"instance": instance.id}).all()
    set_committed_value(instance, "addresses", list(rows))


def assign(session, instance, data):
    """A new instance's addresses: public IPv4, private IPv4 if `private_ip`, SLAAC."""
    pools = address_slots.pools_in(session, instance.region_id)
    kinds = [((IPV4, True), "region"), ((IPV6, True), "region")]
    if data.get("private_ip"):
        kinds.insert(1, ((IPV4, False), "private_ip"))
    held = address_slots.allocate_all(session, instance, kinds, pools)
    # A new instance holds no other address: what was claimed is the whole list.
    set_committed_value(instance, "addresses", sorted(held, key=lambda a: a.id))


def release(session, instance):
    """Free every address of `instance` (its delete's transaction)."""
    address_slots.free(session, Address.instance_id == instance.id)
    set_committed_value(instance, "addresses", [])


def take_in(session, instance, region_id):
    """One address in `region_id` for each kind the instance holds: a migration to that
    data center holds both sets until it ends, so neither can be given away meanwhile."""
    pools = address_slots.pools_in(session, region_id)
    for kind in sorted({(a.type, a.public) for a in instance.addresses}):
        address_slots.allocate(session, instance, kind, "region", region_id, pools)
    _reload(session, instance)


def keep_only(session, instance, region_id):
    """Free the instance's addresses outside `region_id` (the end of such a migration)."""
    elsewhere = select(AddressPool.id).where(AddressPool.region_id != region_id)
    address_slots.free(session, Address.instance_id == instance.id, Address.pool_id.in_(elsewhere))
    _reload(session, instance)


def here(instance):
    """The instance's addresses in its region: during a migration to another data center
    its new ones are held but not yet its own."""
    return [a for a in instance.addresses if a.pool.region_id == instance.region_id]


# -- reads --------------------------------------------------------------------------------


def normal(text):
    """An address from a path in the form stored (compressed), or NotFound."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise NotFound() from None


def _live_ids(account_id):
    return select(Instance.id).where(Instance.account_id == account_id,
                                     Instance.deleted_at.is_(None))  # fmt: skip


def instance_of(session, account_id, instance_id, lock=False):
    """The account's live instance (locked to the commit with `lock`), or NotFound."""
    from cloudapi.services import instances  # it imports this module (a cycle)

    return instances.get(session, account_id, instance_id, lock=lock)


def of_instance(inst, address):
    """`inst`'s address `address` (path text), or NotFound."""
    wanted = normal(address)
    for found in here(inst):
        if found.address == wanted:
            return found
    raise NotFound()


def of_account(session, account_id, address):
    """The account's address `address` (path text), on a live instance, or NotFound."""
    mine = _live_ids(account_id)
    query = select(Address).where(Address.address == normal(address), Address.instance_id.in_(mine))
    found = session.scalar(query)
    if found is None:
        raise NotFound()
    return found


def listing(session, account_id, page_req):
    """Return (addresses, page, pages, results): the account's, private ones excepted."""
    mine = _live_ids(account_id)
    public = select(AddressPool.id).where(AddressPool.public.is_(True))
    where = (Address.instance_id.in_(mine), Address.pool_id.in_(public))
    return page_of(session, Address, where, [Address.id], page_req)


# -- writes -------------------------------------------------------------------------------


def add(database, principal, instance_id, body):
    """POST .../ips: a private IPv4 (one per Linode); another public one is refused."""
    data = load(AddressCreateSchema(), body)
    with database.transaction() as session:
        inst = instance_of(session, principal.account_id, instance_id, lock=True)
        if data["public"]:
            raise Invalid.reason(TECHNICAL_JUSTIFICATION)
        if any(a.type == IPV4 and not a.public for a in inst.addresses):
            raise Invalid.reason(ONE_PRIVATE)
        address_slots.allocate(session, inst, (IPV4, False), "public")
        inst.private_ip = True
        _reload(session, inst)
        return next(a for a in inst.addresses if a.type == IPV4 and not a.public)


def remove(database, principal, instance_id, address):
    """DELETE .../ips/{address}: an additional IPv4 goes; the last public one stays."""
    with database.transaction() as session:
        inst = instance_of(session, principal.account_id, instance_id, lock=True)
        found = of_instance(inst, address)
        if found.type == IPV6:
            raise Invalid.reason(SLAAC_STAYS)
        publics = [a for a in inst.addresses if a.type == IPV4 and a.public]
        if found.public and len(publics) == 1:
            raise Invalid.reason(LAST_PUBLIC)
        address_slots.free(session, Address.id == found.id)
        if not found.public:
            inst.private_ip = False


def set_rdns(database, principal, address, body, instance_id=None):
    """PUT an address's RDNS (null: back to the default); under a Linode, or the account's."""
    data = load(RdnsSchema(), body)
    with database.transaction() as session:
        if instance_id is None:
            found = of_account(session, principal.account_id, address)
        else:
            found = of_instance(instance_of(session, principal.account_id, instance_id), address)
        if not found.public and data["rdns"] is not None:
            raise Invalid.field("rdns", PRIVATE_RDNS)
        found.rdns = data["rdns"]
        return found
