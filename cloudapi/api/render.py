"""Resources rendered in Linode's JSON shapes."""

import functools
import uuid
from datetime import datetime

from cloudapi.api.ips import linode_ipv4, linode_ipv6

TIME = "%Y-%m-%dT%H:%M:%S"
POOL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://cloudapi.invalid/pool")


def ts(value):
    """Linode's timestamps: naive UTC, whole seconds (a page renders two per Linode:
    isoformat is the same text as strftime(TIME) there, in half the time)."""
    if value is None:
        return None
    if type(value) is datetime and value.tzinfo is None and value.year >= 1000:
        return value.isoformat(timespec="seconds")
    return value.strftime(TIME)


def linode_type(t):
    return {
        "id": t.id,
        "label": t.label,
        "class": t.type_class,
        "disk": t.disk,
        "memory": t.memory,
        "vcpus": t.vcpus,
        "gpus": t.gpus,
        "accelerated_devices": t.accelerated_devices,
        "network_out": t.network_out,
        "transfer": t.transfer,
        "price": {"hourly": t.price_hourly, "monthly": t.price_monthly},
        "region_prices": list(t.region_prices),
        "addons": {
            "backups": {
                "price": {"hourly": t.backups_hourly, "monthly": t.backups_monthly},
                "region_prices": [],
            }
        },
        "successor": t.successor,
    }


def region(r, capabilities):
    """`capabilities`: as this caller sees them (Snapshot.capabilities)."""
    return {
        "id": r.id,
        "label": r.label,
        "country": r.country,
        "capabilities": capabilities,
        "status": r.status,
        "resolvers": {"ipv4": r.resolvers_ipv4, "ipv6": r.resolvers_ipv6},
        "site_type": r.site_type,
        "placement_group_limits": {"maximum_pgs_per_customer": None, "maximum_linodes_per_pg": 5},
        "monitors": {"alerts": [], "metrics": []},
    }


def image(i):
    return {
        "id": i.id,
        "label": i.label,
        "description": i.description or None,  # non-empty or null, as Linode
        "created": ts(i.created),
        "updated": ts(i.created),
        "created_by": "linode",
        "type": "manual",
        "is_public": True,
        "deprecated": i.deprecated,
        "size": i.size,
        "total_size": i.size,
        "vendor": i.vendor,
        "eol": ts(i.eol),
        "expiry": None,
        "status": "available",
        "capabilities": list(i.capabilities),
        "tags": [],
        "regions": [],
    }


def instance(inst, plan, site_type="core"):
    """A Linode from its ORM object (create, update and action responses)."""
    ipv4, ipv6 = linode_ipv4(inst), linode_ipv6(inst)
    return linode(inst, inst.tag_names, ipv4, ipv6, specs(plan), site_type)


def specs(plan):
    return {
        "disk": plan.disk,
        "memory": plan.memory,
        "vcpus": plan.vcpus,
        "gpus": plan.gpus,
        "transfer": plan.transfer,
        "accelerated_devices": plan.accelerated_devices,
    }


def linode(inst, tags, ipv4, ipv6, plan_specs, site_type="core"):
    """The Linode object: the one shape for ORM objects and for the list's and GET's rows.

    `inst` is anything with the instance's column attributes (an Instance, or a row of
    cloudapi/db/instance_rows.py); `tags`, `ipv4`, `ipv6` and the plan's `specs` come
    ready, so that rows need no relationship loading and a page reads each plan once.
    """
    return {
        "id": inst.id,
        "label": inst.label,
        "group": inst.group,
        "tags": tags,
        "status": inst.status,
        "hypervisor": "kvm",
        "created": ts(inst.created),
        "updated": ts(inst.updated),
        "type": inst.type_id,
        "region": inst.region_id,
        "image": inst.image_id,
        "ipv4": ipv4,
        "ipv6": ipv6,
        "specs": plan_specs,
        "alerts": dict(inst.alerts),
        "backups": {
            "enabled": inst.backups_enabled,
            "available": False,
            "last_successful": None,
            "schedule": {"day": inst.backup_day, "window": inst.backup_window},
        },
        "watchdog_enabled": inst.watchdog_enabled,
        "host_uuid": _host_uuid(inst),
        "has_user_data": inst.has_user_data,
        "disk_encryption": inst.disk_encryption,
        "lke_cluster_id": None,
        "placement_group": None,
        "site_type": site_type,
        "capabilities": [],
        "interface_generation": "legacy_config",
        "maintenance_policy": inst.maintenance_policy,
        "locks": [],  # no locks API here; linode_api4 and Cloud Manager read the list
    }


def linode_row(row, plan_specs, site_type="core"):
    """A Linode from a row of cloudapi/db/instance_rows.py (its tags, ipv4 and SLAAC
    address aggregated); `ipv6` as linode_ipv6 shows it, the SLAAC address as a /128."""
    ipv6 = f"{row.ipv6}/128" if row.ipv6 else None
    return linode(row, row.tags, row.ipv4, ipv6, plan_specs, site_type)


def _host_uuid(inst):
    """The instance's host as Linode shows it: a UUID (hosts registered before UUIDs were
    used kept a SHA-1 hex digest, shown as the UUID of its first 128 bits)."""
    if inst.host_uuid is None:  # not placed on a known host: the region's shared pool
        return _pool_uuid(inst.region_id)
    value = inst.host_uuid
    return _digest_uuid(value) if len(value) == 40 else value


@functools.lru_cache(maxsize=1024)
def _pool_uuid(region_id):
    """Cached: a page of 100 Linodes would otherwise hash the same region 100 times."""
    return str(uuid.uuid5(POOL_NAMESPACE, region_id))


@functools.lru_cache(maxsize=4096)
def _digest_uuid(value):
    return str(uuid.UUID(hex=value[:32]))


ENTITY_URLS = {"linode": "/v4/linode/instances/{}", "firewall": "/v4/networking/firewalls/{}",
               "image": "/v4/images/{}"}  # fmt: skip


def _entity(kind, entity_id, label):
    return {"id": entity_id, "label": label, "type": kind,
            "url": ENTITY_URLS.get(kind, "/v4/linode/instances/{}").format(entity_id)}  # fmt: skip


def event(e):
    """A Linode event; its second entity is the image of a `linode_create` (as Linode
    sends it: `{"id": "linode/debian12", "type": "image", ...}`) or a firewall event's
    Linode. Boots and reboots would name their config: none exists here, so null."""
    secondary = None
    if e.secondary_entity_type is not None:  # Linode's spec: a secondary entity's id is a string
        secondary = _entity(e.secondary_entity_type, e.secondary_entity_id,
                            e.secondary_entity_label)  # fmt: skip
        secondary["id"] = str(secondary["id"])
    return {
        "id": e.id,
        "action": e.action,
        "created": ts(e.created),
        "entity": _entity(e.entity_type, e.entity_id, e.entity_label),
        "secondary_entity": secondary,
        "status": e.status,
        "percent_complete": e.percent_complete,
        "duration": e.duration,
        "rate": None,
        "time_remaining": None,
        "message": e.message,
        "read": e.read,
        "seen": e.seen,
        "username": e.username,
    }


def account(a, capabilities):
    """`capabilities`: as this caller sees them (Snapshot.account_capabilities)."""
    return {
        "email": a.email,
        "euuid": a.euuid,
        "company": a.company,
        "first_name": "",
        "last_name": "",
        "address_1": "",
        "address_2": "",
        "city": "",
        "state": "",
        "zip": "",
        "country": "",
        "phone": "",
        "tax_id": "",
        "balance": 0.0,
        "balance_uninvoiced": 0.0,
        "billing_source": "linode",
        "active_since": ts(a.created),
        "active_promotions": [],
        "credit_card": {"last_four": "", "expiry": ""},  # no card on file; strings per spec
        "capabilities": capabilities,
    }


def profile(a):
    return {
        "uid": a.id,
        "username": a.username,
        "email": a.email,
        "timezone": "UTC",
        "email_notifications": True,
        "restricted": False,
        "two_factor_auth": False,
        "ip_whitelist_enabled": False,
        "lish_auth_method": "keys_only",
        "authorized_keys": [],
        "authentication_type": "password",
        "verified_phone_number": None,
        "user_type": "default",  # Cloud Manager's Profile.user_type: not a parent/child/proxy
        "referrals": {
            "code": "",
            "url": "",
            "total": 0,
            "completed": 0,
            "pending": 0,
            "credit": 0,
        },
    }


def _beta_common(b):
    return {
        "id": b.id,
        "label": b.label,
        "description": b.description,
        "started": ts(b.started),
        "ended": ts(b.ended),
    }


def beta(b):
    return {**_beta_common(b), "greenlight_only": b.greenlight_only, "more_info": b.more_info}


def enrolled_beta(b, enrollment):
    return {**_beta_common(b), "enrolled": ts(enrollment.enrolled)}
