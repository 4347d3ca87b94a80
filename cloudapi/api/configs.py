"""An instance's config profiles: /linode/instances/{id}/configs (and their interfaces)."""

from flask import Blueprint

from cloudapi.api import render_disks, sub_resources
from cloudapi.api.auth import customer_required
from cloudapi.api.context import owned
from cloudapi.services import configs

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
