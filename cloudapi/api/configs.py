"""An instance's config profiles: /linode/instances/{id}/configs (and their interfaces)."""

from flask import Blueprint

from cloudapi.api import render_disks
from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, owned, principal
from cloudapi.api.pagination import listed
from cloudapi.services import configs

bp = Blueprint("configs", __name__)
BASE = "/linode/instances/<int:instance_id>/configs"
ONE = f"{BASE}/<int:config_id>"


@bp.get(BASE)
@customer_required("linodes")
def list_configs(instance_id):
    return listed(configs.listing, render_disks.config, instance_id)


@bp.post(BASE)
@customer_required("linodes", write=True)
def create_config(instance_id):
    return render_disks.config(configs.create(database(), principal(), instance_id, body()))


@bp.get(ONE)
@customer_required("linodes")
def get_config(instance_id, config_id):
    return owned(configs.get, instance_id, config_id, render=render_disks.config)


@bp.put(ONE)
@customer_required("linodes", write=True)
def update_config(instance_id, config_id):
    updated = configs.update(database(), principal(), instance_id, config_id, body())
    return render_disks.config(updated)


@bp.delete(ONE)
@customer_required("linodes", write=True)
def delete_config(instance_id, config_id):
    configs.delete(database(), principal(), instance_id, config_id)
    return {}


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
