"""Cloud Firewall use cases: list, create, update, delete, and replace the rules.

Each write owns one transaction holding the change, its event and, for every Linode the
change reaches, a `firewall_apply` job for the Linode's host agent
(services/firewall_outbox.py). Devices (the Linodes) are in services/firewall_devices.py.
"""

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from cloudapi import filters
from cloudapi.db.base import utcnow
from cloudapi.db.firewalls import Firewall, FirewallTag
from cloudapi.db.paging import order_of, page_of
from cloudapi.domain import firewall_rules
from cloudapi.errors import Conflict
from cloudapi.schemas import load
from cloudapi.schemas.firewalls import FirewallCreateSchema, FirewallUpdateSchema, RulesSchema
from cloudapi.services import firewall_devices, firewall_outbox

FILTERABLE = {
    "id": "int", "label": "str", "status": "str", "tags": "list", "created": "datetime",
    "updated": "datetime",
}  # fmt: skip
LABEL_TAKEN = "Label must be unique among your Cloud Firewalls"


def _tag_filter(op, value, compare):
    tagged = compare(FirewallTag.tag, op, value)
    return exists().where(FirewallTag.firewall_id == Firewall.id, tagged)


SQL_FIELDS = {
    "id": Firewall.id, "label": Firewall.label, "status": Firewall.status,
    "created": Firewall.created, "updated": Firewall.updated, "tags": _tag_filter,
}  # fmt: skip


def get(session, account_id, firewall_id):
    return firewall_outbox.load(session, account_id, firewall_id)


def listing(session, account_id, flt, page_req):
    """Return (firewalls, page, pages, results) for one page of the account's firewalls."""
    where = (Firewall.account_id == account_id, filters.to_sql(flt.where, SQL_FIELDS))
    return page_of(session, Firewall, where, order_of(flt, SQL_FIELDS, Firewall.id), page_req)


def _check_label(session, account_id, label, but=None):
    query = select(Firewall.id).where(Firewall.account_id == account_id, Firewall.label == label)
    if but is not None:
        query = query.where(Firewall.id != but)
    if session.scalar(query) is not None:
        raise Conflict.field("label", LABEL_TAKEN)


def _flush_label(session):
    """Turn a lost race on the per-account unique label into the same 400 as the check."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict.field("label", LABEL_TAKEN) from None


def _tags(names):
    return [FirewallTag(tag=t) for t in sorted(set(names))]


def create(database, principal, body):
    """Create a firewall (and its `devices`): firewall, event, devices and jobs together."""
    data = load(FirewallCreateSchema(), body)
    with database.transaction() as session:
        _check_label(session, principal.account_id, data["label"])
        firewall = Firewall(
            account_id=principal.account_id,
            label=data["label"],
            status="enabled",
            rules=firewall_rules.canonical(data["rules"]),
            rules_version=1,
            tags=_tags(data.get("tags", [])),
        )
        session.add(firewall)
        _flush_label(session)
        firewall_outbox.record(
            session, principal.account_id, principal.username, "firewall_create", firewall
        )
        firewall_devices.attach_on_firewall_create(session, principal, firewall, data)
    return firewall


def update(database, principal, firewall_id, body):
    """Change label, tags or status (Linode: `firewall_update`, `firewall_enable/disable`).

    Enabling or disabling changes what every attached Linode enforces, so it queues a
    job for each; label and tags change nothing on the hosts.
    """
    data = load(FirewallUpdateSchema(), body)
    with database.transaction() as session:
        firewall = firewall_outbox.load(session, principal.account_id, firewall_id, lock=True)
        if "label" in data:
            _check_label(session, principal.account_id, data["label"], but=firewall.id)
            firewall.label = data["label"]
        if "tags" in data:
            firewall.tags = _tags(data["tags"])
        firewall.updated = utcnow()
        _flush_label(session)
        events = [] if data.keys() == {"status"} else ["firewall_update"]
        if data.get("status", firewall.status) != firewall.status:
            firewall.status = data["status"]
            firewall_outbox.push_all(session, firewall)
            events.append("firewall_enable" if firewall.status == "enabled" else "firewall_disable")
        for action in events:
            firewall_outbox.record(session, principal.account_id, principal.username, action,
                                   firewall)  # fmt: skip
    return firewall


def delete(database, principal, firewall_id):
    """Delete a firewall: its Linodes are told to enforce nothing, then it is gone."""
    with database.transaction() as session:
        firewall = firewall_outbox.load(session, principal.account_id, firewall_id, lock=True)
        firewall_outbox.push_all(session, firewall, removing=True)
        firewall_outbox.record(
            session, principal.account_id, principal.username, "firewall_delete", firewall
        )
        session.delete(firewall)


def replace_rules(database, principal, firewall_id, body):
    """PUT .../rules: each list or policy sent replaces the stored one; the rest is kept.

    `version` goes up only when the ruleset really changes (Linode: "incremented when
    the firewall's rules change"); the event and the jobs are written either way, so a
    PUT also re-sends the rules to every attached Linode.
    """
    data = load(RulesSchema(), body)
    with database.transaction() as session:
        firewall = firewall_outbox.load(session, principal.account_id, firewall_id, lock=True)
        rules = firewall_rules.canonical({**firewall.rules, **data})
        if firewall_rules.fingerprint(rules) != firewall_rules.fingerprint(firewall.rules):
            firewall.rules_version += 1
        firewall.rules = rules
        firewall.updated = utcnow()
        firewall_outbox.push_all(session, firewall)
        firewall_outbox.record(
            session, principal.account_id, principal.username, "firewall_rules_update", firewall
        )
    return firewall
