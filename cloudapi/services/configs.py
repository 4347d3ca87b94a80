"""Config profile use cases: /linode/instances/{id}/configs and their legacy interfaces.

A config says what a boot uses: kernel, device map (this instance's disks), helpers and
interfaces. Each write locks the instance's row and writes the change, a job for the
host agent (`config_create`, `config_update`, `config_delete`, with the config's id)
and Linode's event (`linode_config_create`, ...) in one transaction.
"""

from cloudapi.db.base import utcnow
from cloudapi.db.disks import Config
from cloudapi.db.paging import page_of
from cloudapi.errors import NotFound
from cloudapi.schemas import load
from cloudapi.schemas.configs import ConfigCreateSchema, ConfigUpdateSchema
from cloudapi.services import account_settings, instances, outbox, storage

# What an update may set as sent (a null kernel or interfaces list changes nothing).
PLAIN_FIELDS = ("label", "memory_limit", "run_level", "virt_mode", "root_device", "devices")


def listing(session, account_id, instance_id, page_req):
    """Return (configs, page, pages, results) for one page of the instance's configs."""
    instance = instances.get(session, account_id, instance_id)
    return page_of(session, Config, (Config.instance_id == instance.id,), [Config.id], page_req)


def get(session, account_id, instance_id, config_id):
    return storage.config_of(session, instances.get(session, account_id, instance_id), config_id)


def interface(session, account_id, instance_id, config_id, interface_id):
    """One interface of the config, or NotFound."""
    for found in get(session, account_id, instance_id, config_id).interfaces:
        if found.id == interface_id:
            return found
    raise NotFound()


def _record(session, instance, principal, action, config_id):
    outbox.record(session, instance, action, principal, {"config_id": config_id})


def create(database, principal, instance_id, body):
    """Create a config; what the body leaves out takes Linode's default."""
    with database.transaction() as session:
        instance = instances.get(session, principal.account_id, instance_id, lock=True)
        disk_ids = storage.usable_disk_ids(session, instance)
        data = load(ConfigCreateSchema(disk_ids=disk_ids), body)
        network = account_settings.get(session, instance.account_id)["network_helper"]
        config = Config(
            instance_id=instance.id,
            label=data["label"],
            kernel=data.get("kernel") or storage.DEFAULT_KERNEL,
            comments=data.get("comments") or "",
            memory_limit=data.get("memory_limit", 0),
            run_level=data.get("run_level", "default"),
            virt_mode=data.get("virt_mode", "paravirt"),
            root_device=data.get("root_device", storage.ROOT_DEVICE),
            devices=data["devices"],
            helpers={**storage.default_helpers(network), **data.get("helpers", {})},
            interfaces=storage.interface_rows(data.get("interfaces")),
        )
        session.add(config)
        session.flush()
        _record(session, instance, principal, "config_create", config.id)
    return config


def update(database, principal, instance_id, config_id, body):
    """Change what the body sends: `devices` and `interfaces` whole, `helpers` by helper."""
    with database.transaction() as session:
        instance = instances.get(session, principal.account_id, instance_id, lock=True)
        config = storage.config_of(session, instance, config_id)
        disk_ids = storage.usable_disk_ids(session, instance)
        data = load(ConfigUpdateSchema(disk_ids=disk_ids, current=config), body)
        for name in PLAIN_FIELDS:
            if name in data:
                setattr(config, name, data[name])
        if "comments" in data:
            config.comments = data["comments"] or ""
        if data.get("kernel") is not None:
            config.kernel = data["kernel"]
        if "helpers" in data:
            config.helpers = {**config.helpers, **data["helpers"]}
        if data.get("interfaces") is not None:
            config.interfaces = storage.interface_rows(data["interfaces"])
        config.updated = utcnow()
        session.flush()
        _record(session, instance, principal, "config_update", config.id)
    return config


def delete(database, principal, instance_id, config_id):
    """Delete a config (its interfaces go with it); the disks it named stay."""
    with database.transaction() as session:
        instance = instances.get(session, principal.account_id, instance_id, lock=True)
        config = storage.config_of(session, instance, config_id)
        session.delete(config)
        _record(session, instance, principal, "config_delete", config_id)
