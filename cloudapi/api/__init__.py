"""HTTP layer: the customer API under /v4 and /v4beta, and the admin API under /admin.

/v4beta serves exactly what /v4 serves (Cloud Manager, linode_api4's integration suite
and `linode-cli --api-version v4beta` call it): one set of routes under both prefixes.
"""

from flask import Blueprint

from cloudapi import admin_ui, features
from cloudapi.api import (
    account,
    account_records,
    account_surface,
    admin,
    admin_flags,
    admin_hosts,
    admin_session,
    betas,
    catalog,
    configs,
    disks,
    edge,
    firewalls,
    health,
    instance_actions,
    instance_extras,
    internal,
    ips,
    limits,
    linodes,
    metrics,
    principals,
    profile,
    request_ids,
    tags,
)
from cloudapi.api.auth import load_principal
from cloudapi.api.context import principal
from cloudapi.api.errors import Unauthorized


def _customer_or_anonymous():
    """Load the caller; admin and host tokens are not customer credentials."""
    load_principal()
    caller = principal()
    if caller is not None and not caller.is_customer:
        raise Unauthorized()


API_VERSIONS = ("v4", "v4beta")
CUSTOMER_MODULES = (
    catalog,
    linodes,
    account,
    betas,
    profile,
    account_surface,
    account_records,
    tags,
    firewalls,
    ips,
    disks,
    configs,
    instance_extras,
    instance_actions,
)


def _customer_api(app, version):
    api = Blueprint(version, __name__, url_prefix=f"/{version}")
    edge.guard(app, api)  # rate limits run before authentication (preflights: edge.init_app)
    api.before_request(_customer_or_anonymous)
    for module in CUSTOMER_MODULES:
        api.register_blueprint(module.bp)
    return api


def _ignore_trailing_slash(app):
    """Let every customer route also answer with one trailing slash, as Linode's do.

    linode_api4 reads lists through `client.load(Event, "")`, i.e. GET /account/events/
    (an empty id), and Linode answers that with the list. Only /v4 and /v4beta: the
    console's relative links need its own paths exact.
    """
    prefixes = tuple(f"/{version}/" for version in API_VERSIONS)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefixes):
            rule.strict_slashes = False  # read when matching, so setting it now is enough


def init_app(app):
    request_ids.init_app(app)  # its hook goes first: every response, refusals too, has an id
    limits.init_app(app)  # first: its id converter must be in place before any route
    features.init_app(app)
    principals.init_app(app)
    edge.init_app(app)
    metrics.init_app(app)  # HTTP metrics of every request, and GET /metrics
    health.init_app(app)  # GET /healthz, /readyz: no credentials, no rate limits
    for version in API_VERSIONS:
        app.register_blueprint(_customer_api(app, version))
    _ignore_trailing_slash(app)
    app.register_blueprint(admin_session.bp, url_prefix="/admin")
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(admin_flags.bp, url_prefix="/admin")
    app.register_blueprint(admin_hosts.bp, url_prefix="/admin")
    app.register_blueprint(internal.bp, url_prefix="/internal")
    app.register_blueprint(admin_ui.bp)  # the admin console, at /console
