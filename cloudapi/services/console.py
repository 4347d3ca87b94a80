"""Admin console use cases: the one button, and following what it started."""

import secrets
from typing import NamedTuple

from sqlalchemy import select

from cloudapi.db.instances import Instance
from cloudapi.db.inventory import Host
from cloudapi.db.jobs import Event
from cloudapi.domain.rules import password_problem
from cloudapi.errors import Invalid, NotFound
from cloudapi.principal import Principal
from cloudapi.schemas import load
from cloudapi.schemas.admin import GpuInstanceSchema
from cloudapi.services import accounts, instances

DEFAULT_IMAGE = "linode/ubuntu24.04"


def strong_password():
    """A generated root password that passes the same strength rule as customers'."""
    while True:
        candidate = secrets.token_urlsafe(24)
        if password_problem(candidate) is None:
            return candidate


def bring_up(database, snapshot, account_id, doc):
    """Create a GPU instance for an account (admins need no feature flag for this)."""
    doc = load(GpuInstanceSchema(), doc)
    plan = snapshot.types.get(doc.get("type"))
    if plan is None or not plan.gpus:
        raise Invalid.field("type", "Choose a GPU plan")
    with database.reader() as session:
        account = accounts.get(session, account_id)
        who = Principal(0, account.id, account.username, account.email,
                        tuple(account.tag_names), (), frozenset({"*"}), False)  # fmt: skip
    root_pass = strong_password()
    body = {"type": plan.id, "region": doc.get("region"), "root_pass": root_pass,
            "image": doc.get("image") or DEFAULT_IMAGE}  # fmt: skip
    if doc.get("label"):
        body["label"] = doc["label"]
    every_launch = frozenset(launch.feature for launch in snapshot.launches)
    made = instances.create(database, snapshot, who, every_launch, body)
    return made, root_pass


class Followed(NamedTuple):
    """An instance as the console follows it: the instance, its host's name, its events."""

    instance: Instance
    hostname: str | None
    events: list


def follow(database, instance_id):
    """Read an instance of any account (deleted ones too), its host and its events."""
    with database.reader() as session:
        instance = session.get(Instance, instance_id)
        if instance is None:
            raise NotFound.reason(f"no instance with id {instance_id}")
        host = session.get(Host, instance.host_id) if instance.host_id else None
        events = session.scalars(
            select(Event).where(Event.entity_id == instance.id, Event.entity_type == "linode")
            .order_by(Event.id)
        ).all()  # fmt: skip
        return Followed(instance, host.hostname if host else None, list(events))
