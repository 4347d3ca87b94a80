"""An instance's addresses (/linode/instances/{id}/ips) and the account's (/networking/ips)."""

from flask import Blueprint

bp = Blueprint("ips", __name__)
