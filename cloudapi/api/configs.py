"""An instance's config profiles: /linode/instances/{id}/configs, and their interfaces
one at a time (list, view, add, update, delete, reorder)."""

from flask import Blueprint

from cloudapi.api import render_disks, sub_resources
from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, owned, principal
from cloudapi.services import config_interfaces, configs

bp = Blueprint("configs", __name__)
BASE = "/linode/instances/<int:instance_id>/configs"
ONE = f"{BASE}/<int:config_id>"


sub_resources.register(bp, BASE, configs, render_disks.config, "config")


@bp.get(f"{ONE}/interfaces")
@customer_required("linodes")
def list_config_interfaces(instance_id, config_id):
    """A bare array, as Linode's spec answers it (no page envelope)."""

    def render(config):
        return [render_disks.interface(i) for i in config.interfaces]

    return owned(configs.get, instance_id, config_id, render=render)


@bp.get(f"{ONE}/interfaces/<int:interface_id>")
@customer_required("linodes")
def get_config_interface(instance_id, config_id, interface_id):
    return owned(configs.interface, instance_id, config_id, interface_id,
                 render=render_disks.interface)  # fmt: skip


@bp.post(f"{ONE}/interfaces")
@customer_required("linodes", write=True)
def add_config_interface(instance_id, config_id):
    added = config_interfaces.create(database(), principal(), instance_id, config_id, body())
    return render_disks.interface(added)


@bp.post(f"{ONE}/interfaces/order")
@customer_required("linodes", write=True)
def order_config_interfaces(instance_id, config_id):
    config_interfaces.reorder(database(), principal(), instance_id, config_id, body())
    return {}


@bp.put(f"{ONE}/interfaces/<int:interface_id>")
@customer_required("linodes", write=True)
def update_config_interface(instance_id, config_id, interface_id):
    changed = config_interfaces.update(database(), principal(), instance_id, config_id,
                                       interface_id, body())  # fmt: skip
    return render_disks.interface(changed)


@bp.delete(f"{ONE}/interfaces/<int:interface_id>")
@customer_required("linodes", write=True)
def delete_config_interface(instance_id, config_id, interface_id):
    """Linode refuses to delete an active interface; none is active here (not tracked)."""
    config_interfaces.delete(database(), principal(), instance_id, config_id, interface_id)
    return {}
