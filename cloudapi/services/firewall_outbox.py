"""What every firewall change writes in its own transaction: events and agent jobs.

Shared by services/firewalls.py (the firewall and its rules) and
services/firewall_devices.py (its Linodes). Nothing here opens a transaction: the
caller's one transaction holds the change, its event and its jobs together, so a change
that fails leaves neither an event nor a job behind.
"""

import uuid

from sqlalchemy import select

from cloudapi.db.firewalls import Firewall
from cloudapi.db.jobs import Event, Job
from cloudapi.domain import firewall_rules
from cloudapi.errors import NotFound
from cloudapi.services.outbox import queue_of

MAX_ID = 2**31 - 1  # ids are 32-bit: anything above names nothing (and must not reach SQL)
APPLY = "firewall_apply"


def valid_id(value):
    return isinstance(value, int) and 0 < value <= MAX_ID


def load(session, account_id, firewall_id, lock=False):
    """The account's firewall, or NotFound (another account's firewall is not found too).

    With `lock` its row is held to the commit, so concurrent changes to one firewall
    (rules, devices, delete) apply one after the other and each pushes what it saw.
    """
    if not valid_id(firewall_id):
        raise NotFound()
    query = select(Firewall).where(Firewall.account_id == account_id, Firewall.id == firewall_id)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound()
    return found


def ruleset(firewall):
    """The rules as Linode shows them: the stored ruleset plus `fingerprint` and `version`."""
    rules = firewall_rules.canonical(firewall.rules)
    return {
        **rules,
        "fingerprint": firewall_rules.fingerprint(rules),
        "version": firewall.rules_version,
    }


def push(session, instance, firewall):
    """Queue a `firewall_apply` job telling the instance's host agent what to enforce.

    The payload is the whole state, not a delta, so jobs can be replayed or reordered
    harmlessly: `rules` is the full ruleset of an enabled firewall, or null when nothing
    applies (no firewall, or a disabled one), with `firewall_id` and `status` to say why.
    """
    enabled = firewall is not None and firewall.status == "enabled"
    job = Job(
        id=str(uuid.uuid4()),
        instance_id=instance.id,
        action=APPLY,
        host=queue_of(session, instance),
        payload={
            "instance_id": instance.id,
            "firewall_id": firewall.id if firewall is not None else None,
            "status": firewall.status if firewall is not None else None,
            "rules": ruleset(firewall) if enabled else None,
        },
    )
    session.add(job)
    return job


def push_all(session, firewall, removing=False):
    """A job for each live Linode in `firewall`: enforce it, or (`removing`) nothing."""
    for device in firewall.live_devices:
        push(session, device.instance, None if removing else firewall)


def record(session, account_id, username, action, firewall, linode=None):
    """Write the customer's event for a firewall change (entity: the firewall).

    `linode`, when the change is about one Linode (a device added or removed), becomes
    the event's secondary entity, as Linode shows it. Firewall events describe a change
    already made, so they are notifications and not tied to one agent job.
    """
    session.add(
        Event(
            account_id=account_id,
            action=action,
            entity_type="firewall",
            entity_id=firewall.id,
            entity_label=firewall.label,
            secondary_entity_type="linode" if linode is not None else None,
            secondary_entity_id=linode.id if linode is not None else None,
            secondary_entity_label=linode.label if linode is not None else None,
            status="notification",
            percent_complete=100,  # Linode's spec: always an integer; the change is done
            username=username,
        )
    )
