"""Instance use cases. Each write owns one transaction: instance, job and event together."""

import uuid

from sqlalchemy import exists, literal, select
from sqlalchemy.exc import IntegrityError, OperationalError

from cloudapi import filters
from cloudapi.db.adopted import adopt, row_of
from cloudapi.db.base import utcnow
from cloudapi.db.instances import Instance, InstanceTag, insert_new
from cloudapi.db.paging import order_of, page_of
from cloudapi.domain import lifecycle
from cloudapi.domain import sshkeys as keys
from cloudapi.domain.linode_fields import LABEL_TAKEN
from cloudapi.errors import Busy, Conflict, NotFound
from cloudapi.schemas import load, reused
from cloudapi.schemas.linodes import LinodeCreateSchema, PowerSchema
from cloudapi.services import (
    idempotency,
    instance_parts,
    outbox,
    provision,
    reservations,
    sshkeys,
    storage,
)

FILTERABLE = {
    "id": "int", "label": "str", "group": "str", "region": "str", "type": "str",
    "image": "str", "status": "str", "tags": "list", "hypervisor": "str", "created": "datetime",
}  # fmt: skip
BUSY_CAPACITY = "GPU capacity is busy in this region; try again"
RESERVE_ATTEMPTS = 10


def _tag_filter(op, value, compare):
    return exists().where(
        InstanceTag.instance_id == Instance.id, compare(InstanceTag.tag, op, value)
    )


SQL_FIELDS = {
    "id": Instance.id, "label": Instance.label, "group": Instance.group,
    "region": Instance.region_id, "type": Instance.type_id, "image": Instance.image_id,
    "status": Instance.status, "created": Instance.created, "tags": _tag_filter,
    "hypervisor": lambda op, value, compare: compare(literal("kvm"), op, value),
}  # fmt: skip


def _live(account_id):
    return (Instance.account_id == account_id, Instance.deleted_at.is_(None))


def label_taken(session, account_id, label, but=None):
    query = select(Instance.id).where(*_live(account_id), Instance.label == label)
    if but is not None:
        query = query.where(Instance.id != but)
    return session.scalar(query) is not None


def owns_type(session, account_id, type_id):
    query = select(Instance.id).where(*_live(account_id), Instance.type_id == type_id).limit(1)
    return session.scalar(query) is not None


def get(session, account_id, instance_id, lock=False):
    """The account's live instance, or NotFound; `lock` holds its row to the commit.

    With `lock` (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers anyway),
    a concurrent writer of the same instance waits, then reads what the first committed.
    """
    query = select(Instance).where(*_live(account_id), Instance.id == instance_id)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound()
    return found


def listing(session, account_id, flt, page_req):
    """Return (instances, page, pages, results) for one page of the account's instances."""
    where = (*_live(account_id), filters.to_sql(flt.where, SQL_FIELDS))
    return page_of(session, Instance, where, order_of(flt, SQL_FIELDS, Instance.id), page_req)


def guard_unique_label(session):
    """Turn a lost race on the per-account unique label into the same 400 as the check."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict.field("label", LABEL_TAKEN) from None


def create(database, snapshot, principal, features, body):
    """Validate a linode-create body, then write instance, job and event in one transaction."""
    for _attempt in range(RESERVE_ATTEMPTS):
        try:
            return _write_create(database, snapshot, principal, features, body)
        except reservations.Conflict:
            continue  # another create took the capacity we chose: place again
    raise Busy.field("type", BUSY_CAPACITY)


def create_once(database, snapshot, principal, features, body, key, render):
    """create() under an Idempotency-Key; returns `render(instance)` of the key's first create.

    However many creates with one (account, key) run at once, in whatever processes, one
    instance is made (services/idempotency.py); the others, and any replay within 24 h
    (even after the instance is deleted), get the first create's response and write nothing.
    """
    digest = idempotency.request_hash(body)
    keyed = (key, digest, render)
    for _attempt in range(RESERVE_ATTEMPTS):
        earlier = idempotency.replay(database, principal.account_id, key, digest)
        if earlier is not None:
            return earlier
        try:
            return _write_create(database, snapshot, principal, features, body, keyed)
        except (reservations.Conflict, idempotency.Taken):
            continue  # capacity lost: place again; key taken: replay the winner's answer
    raise Busy.field("type", BUSY_CAPACITY)


def _is_retryable(exc):
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40001", "40P01") or "database is locked" in str(exc.orig)


def _validate(session, snapshot, principal, features, body):
    """The loaded body and its plan; in the write transaction, so after any key claim."""
    with reused(
        LinodeCreateSchema,
        snapshot.launches.hidden_parameters(features),
        catalog=snapshot,
        features=features,
        user_keys=lambda names: sshkeys.keys_for_users(session, principal.account_id, names),
        label_taken=lambda label: label_taken(session, principal.account_id, label),
    ) as schema:
        data = load(schema, body)
    return data, snapshot.types[data["type"]], snapshot.images.get(data.get("image"))


def _write_create(database, snapshot, principal, features, body, keyed=None):
    """One attempt in one transaction: key claim first, then validation and the writes.

    `keyed` is (key, body hash, render) for create_once: the result is then the rendered
    response, kept on the key's row; else it is the instance.
    """
    try:
        with database.transaction() as session:
            claimed = None
            if keyed is not None:
                claimed = idempotency.claim(session, principal.account_id, *keyed[:2])
            data, plan, image = _validate(session, snapshot, principal, features, body)
            instance = _write_instance(session, principal, plan, data, image)
            if claimed is None:
                return instance
            response = keyed[2](instance)
            idempotency.remember(claimed, instance.id, response)
            return response
    except OperationalError as exc:
        if _is_retryable(exc):
            raise reservations.Conflict() from exc
        raise


def _deployed_keys(session, account_id, data):
    """The body's `authorized_keys`, then those of its `authorized_users`, each once.

    Both are checked by now (the schema parsed the keys and resolved the users), so
    this only normalises the keys to their one-line form and resolves the users again.
    """
    body_keys = [keys.parse(k).text for k in data.get("authorized_keys", [])]
    users = sshkeys.keys_for_users(session, account_id, data.get("authorized_users"))
    return list(dict.fromkeys(body_keys + users))


def _insert_instance(session, fields, tags):
    """The new instance with its tags, persistent in `session`; its label `linode<id>`
    unless `fields` has one. A label another live instance of the account has is the
    check's 400 (a lost race on the unique index)."""
    if session.get_bind().dialect.name == "postgresql":
        try:
            row = insert_new(session, fields, tags)
        except IntegrityError:
            raise Conflict.field("label", LABEL_TAKEN) from None
        tag_rows = [adopt(session, InstanceTag, row_of(InstanceTag, instance_id=row["id"], tag=t))
                    for t in tags]  # fmt: skip
        return adopt(session, Instance, row, tags=tag_rows)
    # SQLite has no sequence: the id is known once inserted, then the default label.
    labelled = fields["label"] or f"pending-{uuid.uuid4().hex[:16]}"
    instance = Instance(**{**fields, "label": labelled}, tags=[InstanceTag(tag=t) for t in tags])
    session.add(instance)
    guard_unique_label(session)
    if not fields["label"]:
        instance.label = f"linode{instance.id}"
        guard_unique_label(session)
    return instance


def _write_instance(session, principal, plan, data, image=None):
    """Instance, reservation, job and event, then the firewall: the caller's transaction.

    The firewall is attached after the create job is written, so the host agent defines
    the domain before it applies the rules (a host's jobs go out in written order).
    """
    from cloudapi.services import firewall_devices  # it imports this module (a cycle)

    fields = {
        "account_id": principal.account_id,
        "label": data.get("label"),
        "group": data.get("group", ""),
        "type_id": plan.id,
        "region_id": data["region"],
        "image_id": data.get("image"),
        "status": lifecycle.initial_status(),
        "has_user_data": bool(data.get("metadata", {}).get("user_data")),
        "backups_enabled": data.get("backups_enabled", False),
        "private_ip": data.get("private_ip", False),
        "swap_size": data.get("swap_size", 512),
        "disk_encryption": data.get("disk_encryption", "disabled"),
        "maintenance_policy": data.get("maintenance_policy", "linode/migrate"),
        "alerts": lifecycle.default_alerts(plan.vcpus),
        "numa_affinity": data.get("numa_affinity", "strict") if plan.gpus else None,
    }
    instance = _insert_instance(session, fields, sorted(set(data.get("tags", []))))
    instance_parts.on_create(session, instance, plan, data, image)
    deployed = {**data, "authorized_keys": _deployed_keys(session, principal.account_id, data)}
    payload = provision.payload(deployed, instance.label, plan)
    if plan.gpus:
        payload.update(provision.reserve(session, instance, plan))
    # An image label may be 128 characters; an event keeps 64 (as for a Linode's label).
    secondary = ("image", image.id, image.label[:64]) if image is not None else None
    # A GPU instance's jobs go to its host's queue: the placement names it already.
    queue = payload["placement"]["host"] if plan.gpus else None
    outbox.record(session, instance, "create", principal, payload, secondary, queue=queue)
    firewall_devices.attach_on_create(session, instance, data.get("firewall_id"))
    return instance


def power(database, principal, instance_id, action, options=None):
    """Boot, reboot, shut down or delete: move the status and write the job and event.

    The transition is decided on the locked row, so of two concurrent actions on one
    instance the second sees the first's result: a 404 once it is deleted, else the
    lifecycle's refusal ("Linode busy.") - and writes no job and no event. `options` is a
    boot, reboot or shutdown body (PowerSchema), checked against the instance's configs;
    a boot or reboot job carries the config it boots (the one asked for, else the first).
    """
    with database.transaction() as session:
        instance = get(session, principal.account_id, instance_id, lock=True)
        configs = storage.config_ids(session, instance)
        data = load(PowerSchema(config_ids=configs), options or {})
        instance.status = lifecycle.next_status(action, instance.status)
        instance.updated = utcnow()
        if action == "delete":
            instance.deleted_at = utcnow()
            reservations.release(session, instance.id)
            instance_parts.on_delete(session, instance)
        payload = None
        if action in ("boot", "reboot"):
            payload = {"config_id": storage.boot_config(session, instance, data.get("config_id"))}
        outbox.record(session, instance, action, principal, payload)
    return instance
