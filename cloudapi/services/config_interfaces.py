"""A config profile's legacy interfaces one at a time: add, update, delete and reorder.

Linode counts each of these as an update of the config: each write locks the instance's
row, changes the config's interface rows and writes a `config_update` job (with the
config's id) and Linode's `linode_config_update` event in one transaction, as
services/configs.py `update` does. An interface keeps its id through every write but
its own delete; its position (eth0, eth1, eth2) is its place in the config's list. The
rules of the whole list are checked on the list a write would leave
(schemas/config_interfaces.py).

Linode refuses to delete or reorder an *active* interface (one the running Linode
booted with). `active` is not tracked here (it is always false), so neither is refused.
"""

from cloudapi.db.base import utcnow
from cloudapi.errors import NotFound
from cloudapi.schemas import load
from cloudapi.schemas.config_interfaces import (
    InterfaceAddSchema,
    InterfaceOrderSchema,
    InterfaceUpdateSchema,
    with_primary,
)
from cloudapi.services import instances, outbox, storage


def as_sent(row):
    """A stored interface in a loaded interface's shape (what the list checks read)."""
    return {"purpose": row.purpose, "label": row.label, "ipam_address": row.ipam_address,
            "primary": row.primary}  # fmt: skip


def _locked_config(session, principal, instance_id, config_id):
    """(instance, config) of the caller's account, the instance's row locked; else NotFound."""
    instance = instances.get(session, principal.account_id, instance_id, lock=True)
    return instance, storage.config_of(session, instance, config_id)


def _index_of(config, interface_id):
    for index, row in enumerate(config.interfaces):
        if row.id == interface_id:
            return index
    raise NotFound()


def _updated(session, instance, principal, config):
    """Number the interfaces in list order and record the config's update."""
    for position, row in enumerate(config.interfaces):
        row.position = position
    config.updated = utcnow()
    session.flush()
    outbox.record(session, instance, "config_update", principal, {"config_id": config.id})


def create(database, principal, instance_id, config_id, body):
    """Append one interface; a primary one makes the others not primary. Returns it."""
    with database.transaction() as session:
        instance, config = _locked_config(session, principal, instance_id, config_id)
        existing = [as_sent(row) for row in config.interfaces]
        data = load(InterfaceAddSchema(existing=existing), body)
        (added,) = storage.interface_rows([data])
        if added.primary:
            for row in config.interfaces:
                row.primary = False
        config.interfaces.append(added)
        _updated(session, instance, principal, config)
    return added


def update(database, principal, instance_id, config_id, interface_id, body):
    """Change a public interface's `primary` (the only field it has to change)."""
    with database.transaction() as session:
        instance, config = _locked_config(session, principal, instance_id, config_id)
        index = _index_of(config, interface_id)
        interfaces = [as_sent(row) for row in config.interfaces]
        data = load(InterfaceUpdateSchema(interfaces=interfaces, index=index), body)
        if "primary" in data:
            interfaces[index]["primary"] = data["primary"]
            for row, wanted in zip(config.interfaces, with_primary(interfaces, index),
                                   strict=True):  # fmt: skip
                row.primary = bool(wanted["primary"])
        _updated(session, instance, principal, config)
    return config.interfaces[index]


def delete(database, principal, instance_id, config_id, interface_id):
    """Remove one interface; those after it move up (eth2 becomes eth1).

    Linode refuses this for an active interface; nothing is active here (see above).
    """
    with database.transaction() as session:
        instance, config = _locked_config(session, principal, instance_id, config_id)
        del config.interfaces[_index_of(config, interface_id)]
        _updated(session, instance, principal, config)


def reorder(database, principal, instance_id, config_id, body):
    """Put the interfaces in the order of `ids`, which names each of them once."""
    with database.transaction() as session:
        instance, config = _locked_config(session, principal, instance_id, config_id)
        current = [row.id for row in config.interfaces]
        ids = load(InterfaceOrderSchema(current=current), body)["ids"]
        config.interfaces.sort(key=lambda row: ids.index(row.id))
        _updated(session, instance, principal, config)
