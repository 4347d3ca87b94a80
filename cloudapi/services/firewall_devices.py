"""Firewall devices: assigning firewalls to Linodes, and a Linode's view of its firewall.

A Linode is in at most one firewall (Linode: "A service can have one assigned Firewall
at a time"); the unique `firewall_devices.instance_id` holds that even under races.
Every attach or detach writes, in its one transaction, the device row, a
`firewall_device_add`/`_remove` event (secondary entity: the Linode) and a
`firewall_apply` job for the Linode's host agent.
"""

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from cloudapi.db.accounts import Account
from cloudapi.db.firewalls import Firewall, FirewallDevice
from cloudapi.db.instances import Instance
from cloudapi.db.jobs import Event
from cloudapi.db.paging import page_of
from cloudapi.errors import Conflict, Invalid, NotFound
from cloudapi.schemas import load
from cloudapi.schemas.firewalls import DeviceCreateSchema
from cloudapi.services import firewall_outbox, instances

NOT_FOUND = "Not found"
FIREWALL_NOT_FOUND = "Firewall not found"


def already_assigned(instance_id):
    return f"Linode {instance_id} already has an assigned Firewall"


def _live_instance():
    return exists().where(Instance.id == FirewallDevice.instance_id, Instance.deleted_at.is_(None))


def devices_page(session, account_id, firewall_id, page_req):
    """Return (devices, page, pages, results): the firewall's live Linodes, oldest first."""
    firewall = firewall_outbox.load(session, account_id, firewall_id)
    where = (FirewallDevice.firewall_id == firewall.id, _live_instance())
    return page_of(session, FirewallDevice, where, [FirewallDevice.id], page_req)


def get_device(session, account_id, firewall_id, device_id):
    firewall = firewall_outbox.load(session, account_id, firewall_id)
    for device in firewall.live_devices:
        if device.id == device_id:
            return device
    raise NotFound()


def _instance(session, account_id, instance_id, lock=False):
    """The account's live Linode; ids of other accounts (or none) are not found."""
    if not firewall_outbox.valid_id(instance_id):
        raise NotFound()
    return instances.get(session, account_id, instance_id, lock=lock)


def _attach(session, account_id, username, firewall, instance, field):
    """Assign `instance` to `firewall` in the caller's transaction; a taken one is a 400."""
    taken = select(FirewallDevice.id).where(FirewallDevice.instance_id == instance.id)
    if session.scalar(taken) is not None:
        raise Conflict.field(field, already_assigned(instance.id))
    device = FirewallDevice(firewall=firewall, entity_type="linode", instance=instance)
    session.add(device)
    try:
        session.flush()
    except IntegrityError:  # a concurrent attach of the same Linode won
        raise Conflict.field(field, already_assigned(instance.id)) from None
    firewall_outbox.push(session, instance, firewall)
    firewall_outbox.record(
        session, account_id, username, "firewall_device_add", firewall, linode=instance
    )
    return device


def attach(database, principal, firewall_id, body):
    """POST .../devices: assign one Linode; another account's Linode is "Not found"."""
    data = load(DeviceCreateSchema(), body)
    with database.transaction() as session:
        firewall = firewall_outbox.load(session, principal.account_id, firewall_id, lock=True)
        if data["type"] != "linode":  # no NodeBalancers exist here
            raise NotFound()
        instance = _instance(session, principal.account_id, data["id"], lock=True)
        return _attach(session, principal.account_id, principal.username, firewall, instance, "id")


def attach_on_firewall_create(session, principal, firewall, data):
    """The `devices` of a firewall create, each error naming its list entry."""
    devices = data.get("devices") or {}
    errors = [
        {"field": f"devices.{kind}[{i}]", "reason": NOT_FOUND}
        for kind in ("nodebalancers", "linode_interfaces")
        for i, _ in enumerate(devices.get(kind) or [])
    ]
    found = []
    for i, instance_id in enumerate(devices.get("linodes") or []):
        field = f"devices.linodes[{i}]"
        try:
            instance = _instance(session, principal.account_id, instance_id, lock=True)
        except NotFound:
            errors.append({"field": field, "reason": NOT_FOUND})
            continue
        if instance.id not in {f.id for f, _ in found}:
            found.append((instance, field))
    if errors:
        raise Invalid(errors)
    for instance, field in found:
        _attach(session, principal.account_id, principal.username, firewall, instance, field)


def attach_on_create(session, instance, firewall_id):
    """Assign a Linode being created to `firewall_id`, in the create's own transaction.

    For POST /linode/instances `firewall_id` (services/instances.py): called once the instance is
    flushed, after its create job is added, so the agent defines the domain before it
    applies the rules (jobs of one host go out in the order they were written). An
    unknown firewall, or another account's, is a 400 on `firewall_id`.
    """
    if firewall_id is None:
        return None
    try:
        firewall = firewall_outbox.load(session, instance.account_id, firewall_id, lock=True)
    except NotFound:
        raise Invalid.field("firewall_id", FIREWALL_NOT_FOUND) from None
    username = session.get(Account, instance.account_id).username
    return _attach(session, instance.account_id, username, firewall, instance, "firewall_id")


def detach(database, principal, firewall_id, device_id):
    """DELETE .../devices/{id}: the Linode is told to enforce nothing, the row goes."""
    with database.transaction() as session:
        firewall = firewall_outbox.load(session, principal.account_id, firewall_id, lock=True)
        device = get_device(session, principal.account_id, firewall.id, device_id)
        instance = device.instance
        firewall_outbox.push(session, instance, None)
        firewall_outbox.record(
            session, principal.account_id, principal.username, "firewall_device_remove",
            firewall, linode=instance,
        )  # fmt: skip
        firewall.devices.remove(device)


def instance_firewalls(session, account_id, instance_id, page_req):
    """GET /linode/instances/{id}/firewalls: the (at most one) firewall of a Linode."""
    instance = _instance(session, account_id, instance_id)
    assigned = exists().where(
        FirewallDevice.firewall_id == Firewall.id, FirewallDevice.instance_id == instance.id
    )
    return page_of(session, Firewall, (Firewall.account_id == account_id, assigned),
                   [Firewall.id], page_req)  # fmt: skip


def reapply(database, principal, instance_id):
    """POST /linode/instances/{id}/firewalls/apply: send the Linode's rules again.

    Its `firewall_apply` event (entity: the Linode) follows the job, as a Linode event
    follows its job: scheduled, then finished or failed as the host agent reports.
    """
    with database.transaction() as session:
        instance = _instance(session, principal.account_id, instance_id, lock=True)
        device = session.scalar(
            select(FirewallDevice).where(FirewallDevice.instance_id == instance.id)
        )
        job = firewall_outbox.push(session, instance, device.firewall if device else None)
        session.add(
            Event(
                account_id=instance.account_id, job=job, action=firewall_outbox.APPLY,
                entity_type="linode", entity_id=instance.id, entity_label=instance.label,
                status="scheduled", percent_complete=0, username=principal.username,
            )
        )  # fmt: skip


def forget_instance(session, instance):
    """Drop a deleted Linode's device row (for the instance delete, in its transaction).

    Not wired yet: until it is, a deleted Linode's row stays but is hidden everywhere
    (`Firewall.live_devices`), and gets no more jobs.
    """
    device = session.scalar(select(FirewallDevice).where(FirewallDevice.instance_id == instance.id))
    if device is not None:
        session.delete(device)
