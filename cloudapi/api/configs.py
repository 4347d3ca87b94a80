"""An instance's config profiles: /linode/instances/{id}/configs."""

from flask import Blueprint

bp = Blueprint("configs", __name__)
