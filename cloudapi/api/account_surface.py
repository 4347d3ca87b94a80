"""What clients read about the account at start-up: settings, users, notifications,
maintenance; and two small public catalogs, kernels and maintenance policies."""

from flask import Blueprint, request

from cloudapi import filters
from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, owned, principal
from cloudapi.api.pagination import page_request, paginate_list
from cloudapi.domain import kernels
from cloudapi.errors import NotFound
from cloudapi.services import account_settings, accounts, sshkeys

bp = Blueprint("account_surface", __name__)
USER_FIELDS = {"username": "str", "email": "str", "restricted": "bool", "user_type": "str"}
MAINTENANCE_FIELDS = {"status": "str", "type": "str", "when": "datetime"}


def _filtered_page(items, fields, render_item):
    flt = filters.parse(request.headers.get("X-Filter"), fields)
    chosen = filters.apply(items, flt, lambda obj, name: render_item(obj).get(name))
    return paginate_list(chosen, page_request(), render_item)


@bp.get("/account/settings")
@customer_required("account")
def get_settings():
    return owned(account_settings.get)


@bp.put("/account/settings")
@customer_required("account", write=True)
def update_settings():
    return account_settings.update(database(), principal().account_id, body())


def _the_user():
    """The account's one user, in Linode's User shape (unrestricted, no 2FA)."""
    with database().reader() as session:
        account = accounts.get(session, principal().account_id)
        return {
            "username": account.username,
            "email": account.email,
            "restricted": False,
            "ssh_keys": sshkeys.labels(session, account.id),
            "tfa_enabled": False,
            "verified_phone_number": None,
            "password_created": None,
            "last_login": None,
            "user_type": "default",
        }


@bp.get("/account/users")
@customer_required("account")
def list_users():
    return _filtered_page([_the_user()], USER_FIELDS, lambda user: user)


@bp.get("/account/users/<username>")
@customer_required("account")
def get_user(username):
    user = _the_user()
    if username != user["username"]:
        raise NotFound()
    return user


@bp.get("/account/notifications")
@customer_required("account")
def list_notifications():
    """Nothing here raises notifications yet (no billing, tickets or scheduled work)."""
    return paginate_list([], page_request(), lambda item: item)


@bp.get("/account/maintenance")
@customer_required(None)
def list_maintenance():
    """No maintenance is ever scheduled on the account's instances yet."""
    return _filtered_page([], MAINTENANCE_FIELDS, lambda item: item)


@bp.get("/maintenance/policies")
def list_maintenance_policies():
    return paginate_list(list(kernels.MAINTENANCE_POLICIES), page_request(), dict)


@bp.get("/linode/kernels")
def list_kernels():
    return _filtered_page(list(kernels.KERNELS), kernels.FILTERABLE, kernels.Kernel.render)


@bp.get("/linode/kernels/<path:kernel_id>")
def get_kernel(kernel_id):
    found = kernels.BY_ID.get(kernel_id)
    if found is None:
        raise NotFound()
    return found.render()
