"""HTTP layer: the customer API under /v4 and the admin API under /admin."""

from flask import Blueprint

from cloudapi import admin_ui, features
from cloudapi.api import (
    account,
    admin,
    admin_flags,
    admin_hosts,
    admin_session,
    betas,
    catalog,
    edge,
    internal,
    linodes,
    principals,
)
from cloudapi.api.auth import load_principal
from cloudapi.api.context import principal
from cloudapi.errors import Unauthorized


def _customer_or_anonymous():
    """Load the caller; admin and host tokens are not customer credentials."""
    load_principal()
    caller = principal()
    if caller is not None and not caller.is_customer:
        raise Unauthorized()


def init_app(app):
    features.init_app(app)
    principals.init_app(app)
    v4 = Blueprint("v4", __name__, url_prefix="/v4")
    edge.init_app(app, v4)  # preflight and rate limits run before authentication
    v4.before_request(_customer_or_anonymous)
    for module in (catalog, linodes, account, betas):
        v4.register_blueprint(module.bp)
    app.register_blueprint(v4)
    app.register_blueprint(admin_session.bp, url_prefix="/admin")
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(admin_flags.bp, url_prefix="/admin")
    app.register_blueprint(admin_hosts.bp, url_prefix="/admin")
    app.register_blueprint(internal.bp, url_prefix="/internal")
    app.register_blueprint(admin_ui.bp)  # the admin console, at /console
