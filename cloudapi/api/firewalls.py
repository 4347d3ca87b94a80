"""Cloud Firewalls: /networking/firewalls (rules, devices) and a Linode's firewalls."""

from flask import Blueprint

from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, owned, principal
from cloudapi.api.pagination import listed
from cloudapi.api.render import ENTITY_URLS, ts
from cloudapi.services import firewall_devices, firewall_outbox, firewalls

bp = Blueprint("firewalls", __name__)
BASE = "/networking/firewalls"


# -- shapes -------------------------------------------------------------------------------


def _entity(device):
    instance = device.instance
    return {"id": instance.id, "label": instance.label, "type": device.entity_type,
            "url": ENTITY_URLS["linode"].format(instance.id)}  # fmt: skip


def render_firewall(firewall):
    """Linode's Firewall object; `entities` (the assigned Linodes) as the newer API has."""
    return {
        "id": firewall.id,
        "label": firewall.label,
        "created": ts(firewall.created),
        "updated": ts(firewall.updated),
        "status": firewall.status,
        "tags": firewall.tag_names,
        "rules": firewall_outbox.ruleset(firewall),
        "entities": [_entity(d) for d in firewall.live_devices],
    }


def render_device(device):
    return {"id": device.id, "created": ts(device.created), "updated": ts(device.updated),
            "entity": _entity(device)}  # fmt: skip


# -- firewalls ----------------------------------------------------------------------------


@bp.get(BASE)
@customer_required("firewall")
def list_firewalls():
    return listed(firewalls.listing, render_firewall, filterable=firewalls.FILTERABLE)


@bp.post(BASE)
@customer_required("firewall", write=True)
def create_firewall():
    created = firewalls.create(database(), principal(), body())
    return _fresh(created.id)


@bp.get(f"{BASE}/<int:firewall_id>")
@customer_required("firewall")
def get_firewall(firewall_id):
    return _fresh(firewall_id)


@bp.put(f"{BASE}/<int:firewall_id>")
@customer_required("firewall", write=True)
def update_firewall(firewall_id):
    firewalls.update(database(), principal(), firewall_id, body())
    return _fresh(firewall_id)


@bp.delete(f"{BASE}/<int:firewall_id>")
@customer_required("firewall", write=True)
def delete_firewall(firewall_id):
    firewalls.delete(database(), principal(), firewall_id)
    return {}


def _fresh(firewall_id):
    """The firewall as committed, read again (its devices and their Linodes included)."""
    return owned(firewalls.get, firewall_id, render=render_firewall)


# -- rules --------------------------------------------------------------------------------


@bp.get(f"{BASE}/<int:firewall_id>/rules")
@customer_required("firewall")
def get_rules(firewall_id):
    return owned(firewalls.get, firewall_id, render=firewall_outbox.ruleset)


@bp.put(f"{BASE}/<int:firewall_id>/rules")
@customer_required("firewall", write=True)
def update_rules(firewall_id):
    return firewall_outbox.ruleset(
        firewalls.replace_rules(database(), principal(), firewall_id, body())
    )


# -- devices ------------------------------------------------------------------------------


@bp.get(f"{BASE}/<int:firewall_id>/devices")
@customer_required("firewall")
def list_devices(firewall_id):
    return listed(firewall_devices.devices_page, render_device, firewall_id)


@bp.post(f"{BASE}/<int:firewall_id>/devices")
@customer_required("firewall", write=True)
def create_device(firewall_id):
    device = firewall_devices.attach(database(), principal(), firewall_id, body())
    return _fresh_device(firewall_id, device.id)


@bp.get(f"{BASE}/<int:firewall_id>/devices/<int:device_id>")
@customer_required("firewall")
def get_device(firewall_id, device_id):
    return _fresh_device(firewall_id, device_id)


@bp.delete(f"{BASE}/<int:firewall_id>/devices/<int:device_id>")
@customer_required("firewall", write=True)
def delete_device(firewall_id, device_id):
    firewall_devices.detach(database(), principal(), firewall_id, device_id)
    return {}


def _fresh_device(firewall_id, device_id):
    return owned(firewall_devices.get_device, firewall_id, device_id, render=render_device)


# -- a Linode's firewalls -----------------------------------------------------------------


@bp.get("/linode/instances/<int:instance_id>/firewalls")
@customer_required("linodes")
def list_instance_firewalls(instance_id):
    return listed(firewall_devices.instance_firewalls, render_firewall, instance_id)


@bp.post("/linode/instances/<int:instance_id>/firewalls/apply")
@customer_required("linodes", write=True)
def apply_instance_firewalls(instance_id):
    body(optional=True)  # Linode takes no body; a malformed one is still a clean 400
    firewall_devices.reapply(database(), principal(), instance_id)
    return {}
