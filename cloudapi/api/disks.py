"""An instance's disks: /linode/instances/{id}/disks."""

from flask import Blueprint

bp = Blueprint("disks", __name__)
