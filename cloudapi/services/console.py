"""Admin console use cases: the one button, and following what it started."""

import secrets

from sqlalchemy import select

from cloudapi.db.instances import Instance
from cloudapi.db.inventory import Host
from cloudapi.db.jobs import Event
from cloudapi.domain.rules import password_problem
from cloudapi.errors import ApiError, NotFound
from cloudapi.features import GPU_LINODES
from cloudapi.principal import Principal
from cloudapi.services import accounts, instances

DEFAULT_IMAGE = "linode/ubuntu24.04"
ALLOWED = {"type", "region", "image", "label"}


def strong_password():
    """A generated root password that passes the same strength rule as customers'."""
    while True:
        candidate = secrets.token_urlsafe(24)
        if password_problem(candidate) is None:
            return candidate


def bring_up(database, snapshot, account_id, doc):
    """Create a GPU instance for an account (admins need no feature flag for this)."""
    unknown = [{"field": k, "reason": "Unknown field"} for k in doc if k not in ALLOWED]
    if unknown:
        raise ApiError(unknown)
    plan = snapshot.types.get(doc.get("type"))
    if plan is None or not plan.gpus:
        raise ApiError.field("type", "Choose a GPU plan")
    with database.reader() as session:
        try:
            account = accounts.get(session, account_id)
        except accounts.AccountError:
            raise NotFound() from None
        who = Principal(0, account.id, account.username, account.email,
                        tuple(account.tag_names), (), frozenset({"*"}), False)  # fmt: skip
    root_pass = strong_password()
    body = {"type": plan.id, "region": doc.get("region"), "root_pass": root_pass,
            "image": doc.get("image") or DEFAULT_IMAGE}  # fmt: skip
    if doc.get("label"):
        body["label"] = doc["label"]
    made = instances.create(database, snapshot, who, frozenset({GPU_LINODES}), body)
    return made, root_pass


def instance_view(session, instance_id):
    """An instance as the console follows it: status, host, and its events."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound()
    host = session.get(Host, instance.host_id) if instance.host_id else None
    events = session.scalars(
        select(Event).where(Event.entity_id == instance.id, Event.entity_type == "linode")
        .order_by(Event.id)
    ).all()  # fmt: skip
    return {
        "id": instance.id, "account_id": instance.account_id, "label": instance.label,
        "type": instance.type_id, "region": instance.region_id, "status": instance.status,
        "deleted": instance.deleted_at is not None, "host": host.hostname if host else None,
        "events": [{"id": e.id, "action": e.action, "status": e.status,
                    "percent_complete": e.percent_complete, "message": e.message}
                   for e in events],
    }  # fmt: skip
