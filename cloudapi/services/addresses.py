"""Instance addresses from the regions' pools: allocated in a create, freed in a delete.

Runs inside the caller's transaction (a create's or a delete's, through
services/instance_parts.py, or one of the /ips use cases below). The protocol for taking
one address of a kind (public IPv4, private IPv4, SLAAC IPv6) in a region:

1. The region's pools of that kind, oldest first; in each, one query finds the lowest
   free slot above a floor (the gaps after held slots, the network's first slot and
   the slot after the gateway are the only candidates, so it never walks free space).
2. Claim the slot. On PostgreSQL, first a transaction-scoped advisory lock on
   (pool, slot), only tried, never waited for (`pg_try_advisory_xact_lock`): a slot
   another transaction is claiming right now is locked by it until it ends, so the
   claimer skips it at once instead of queueing behind that transaction's insert, and
   concurrent creates spread over consecutive slots without waiting on one another.
   Then the row is inserted under a SAVEPOINT. The unique constraints (pool, slot) and
   (address) are what guarantee nothing is held twice: an insert that loses (the slot
   was taken and committed after step 1 read it) rolls back to its savepoint only.
3. A skipped or lost slot raises the floor and step 1 runs again, from a new snapshot
   (READ COMMITTED). The floor only rises, so this ends; a pool is passed over only when
   each of its slots is held or being claimed by another transaction (one that then
   rolls back frees its slot for the next create). When none of the region's pools has
   a slot, the use case fails with a 400 naming what ran out, and its transaction (the
   whole create) is rolled back.
SQLite serialises writers (BEGIN IMMEDIATE), so there step 1 already sees every slot.

Release deletes the rows: a freed address is the lowest free candidate again at once.
"""

import ipaddress

from sqlalchemy import Integer, cast, delete, exists, func, insert, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from cloudapi.db.addresses import IPV4, IPV6, Address, AddressPool
from cloudapi.db.base import utcnow
from cloudapi.db.instances import Instance
from cloudapi.db.paging import page_of
from cloudapi.errors import Invalid, NotFound
from cloudapi.schemas import load
from cloudapi.schemas.ips import AddressCreateSchema, RdnsSchema

# The first key of the two-key advisory locks: "AD" in the high half, the pool id below.
_LOCK_SPACE = 0x4144 << 16
KINDS = {(IPV4, True): "public IPv4", (IPV4, False): "private IPv4", (IPV6, True): "IPv6"}
TECHNICAL_JUSTIFICATION = (
    "Additional IPv4 addresses require technical justification.  "
    "Please open a Support Ticket describing your requirement"
)
ONE_PRIVATE = "You may not add more than one private IPv4 address to a single Linode"
LAST_PUBLIC = "A Linode must keep at least one public IPv4 address"
SLAAC_STAYS = "A Linode's SLAAC IPv6 address cannot be removed"
PRIVATE_RDNS = "Private IPv4 addresses have no RDNS"


def exhausted(kind, region_id):
    return f"No {KINDS[kind]} addresses are left in {region_id}"


# -- the allocator ----------------------------------------------------------------------


def _lowest_free(session, pool, floor):
    """The lowest free slot of `pool` above `floor`, or None (step 1; one query)."""
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


def _claim(session, pool, slot, instance_id):
    """Step 2: lock (PostgreSQL) and insert `slot` of `pool`; False if it is not ours."""
    if session.get_bind().dialect.name == "postgresql":
        key = cast(literal(_LOCK_SPACE + pool.id), Integer), cast(literal(slot), Integer)
        if not session.scalar(select(func.pg_try_advisory_xact_lock(*key))):
            return False
    row = {"pool_id": pool.id, "slot": slot, "address": pool.address_at(slot),
           "instance_id": instance_id, "created": utcnow()}  # fmt: skip
    try:
        with session.begin_nested():
            session.execute(insert(Address).values(**row))
    except IntegrityError:
        return False
    return True


def allocate(session, instance, kind, field, region_id=None):
    """Give `instance` one address of `kind` ((type, public)) in its region (or in
    `region_id`), or a 400."""
    region_id = region_id or instance.region_id
    pools = session.scalars(
        select(AddressPool)
        .where(
            AddressPool.region_id == region_id,
            AddressPool.type == kind[0],
            AddressPool.public == kind[1],
        )
        .order_by(AddressPool.id)
    ).all()
    for pool in pools:
        floor = 0
        while (slot := _lowest_free(session, pool, floor)) is not None:
            if _claim(session, pool, slot, instance.id):
                return
            floor = slot  # claimed by someone else: look above it
    raise Invalid.field(field, exhausted(kind, region_id))


def _reload(session, instance):
    """Load `instance.addresses` now, so it renders after the transaction too."""
    rows = session.scalars(
        select(Address).where(Address.instance_id == instance.id).order_by(Address.id)
    ).all()
    set_committed_value(instance, "addresses", list(rows))


def assign(session, instance, data):
    """A new instance's addresses: public IPv4, private IPv4 if `private_ip`, SLAAC."""
    allocate(session, instance, (IPV4, True), "region")
    if data.get("private_ip"):
        allocate(session, instance, (IPV4, False), "private_ip")
    allocate(session, instance, (IPV6, True), "region")
    _reload(session, instance)


def release(session, instance):
    """Free every address of `instance` (its delete's transaction)."""
    session.execute(delete(Address).where(Address.instance_id == instance.id))
    set_committed_value(instance, "addresses", [])


def take_in(session, instance, region_id):
    """One address in `region_id` for each kind the instance holds: a migration to that
    data center holds both sets until it ends, so neither can be given away meanwhile."""
    for kind in sorted({(a.type, a.public) for a in instance.addresses}):
        allocate(session, instance, kind, "region", region_id)
    _reload(session, instance)


def keep_only(session, instance, region_id):
    """Free the instance's addresses outside `region_id` (the end of such a migration)."""
    elsewhere = select(AddressPool.id).where(AddressPool.region_id != region_id)
    session.execute(delete(Address).where(Address.instance_id == instance.id,
                                          Address.pool_id.in_(elsewhere)))  # fmt: skip
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
        allocate(session, inst, (IPV4, False), "public")
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
        session.execute(delete(Address).where(Address.id == found.id))
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
