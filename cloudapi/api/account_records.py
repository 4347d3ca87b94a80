"""The account's and profile's records that Linode's clients list: billing, logins, apps.

This cloud has no billing yet (no invoices, payments or payment methods), no service
transfers, no OAuth clients or authorized apps, no web login (tokens only, so no logins and
no trusted devices) and no security questions (no two-factor login to guard). Each list is
served honestly as what it is here, empty, in Linode's envelope, and each record's view is
Linode's 404, so `linode-cli account invoices-list` and the like answer instead of failing
on a 404 for the whole path.

An account here has exactly one user (its own username and email). Linode lets an account
add and delete users; this cloud cannot, so `POST /account/users` and
`DELETE /account/users/{username}` answer the 400 Linode gives a request it refuses, with
the reason, rather than a 405 that would read as a missing feature of the API.
"""

import re

from flask import Blueprint

from cloudapi import filters
from cloudapi.api.auth import customer_required
from cloudapi.api.context import owned, snapshot
from cloudapi.api.pagination import MAX_PAGE_SIZE, PageRequest, page_request, paginate_list
from cloudapi.errors import Invalid, NotFound
from cloudapi.services import accounts, instances

bp = Blueprint("account_records", __name__)

NO_MORE_USERS = "This account has exactly one user; no other user can be added to it"
ONLY_USER = "The account's only user cannot be deleted"

# (the list, its records' views, why the list is empty here). Linode's scope for all of
# them is `account:read_only`.
NOTHING_HERE = (
    ("/account/invoices",
     ("/account/invoices/<int:record_id>", "/account/invoices/<int:record_id>/items"),
     "No billing yet: nothing has been invoiced."),
    ("/account/payments", ("/account/payments/<int:record_id>",),
     "No billing yet: nothing has been paid."),
    ("/account/payment-methods", ("/account/payment-methods/<int:record_id>",),
     "No billing yet: no card or other method is on file."),
    ("/account/service-transfers", ("/account/service-transfers/<record_id>",),
     "Services cannot be transferred between accounts here."),
    ("/account/oauth-clients", ("/account/oauth-clients/<record_id>",),
     "No OAuth clients can be registered here: personal access tokens only."),
    ("/account/logins", ("/account/logins/<int:record_id>",),
     "No web login exists here (tokens only), so there is no login to record; a token's "
     "use is not a login."),
    ("/profile/logins", ("/profile/logins/<int:record_id>",),
     "No web login exists here (tokens only), so the user has no logins."),
    ("/profile/apps", ("/profile/apps/<int:record_id>",),
     "No OAuth apps exist here, so none can be authorized."),
    ("/profile/devices", ("/profile/devices/<int:record_id>",),
     "No web login exists here, so no device can be trusted to skip two-factor login."),
)  # fmt: skip


def _endpoint(path):
    """A view name from the path: `/account/invoices/<int:record_id>` is account_invoices_id."""
    return re.sub(r"<[^>]*>", "id", path).strip("/").replace("/", "_").replace("-", "_")


def _empty_list(why):
    def view():
        return paginate_list([], page_request(), dict)

    view.__doc__ = why
    return view


def _no_record(record_id):
    """Nothing is ever recorded in these lists, so every id is Linode's "Not found"."""
    raise NotFound()


def _serve_nothing_here():
    for path, record_paths, why in NOTHING_HERE:
        view = customer_required("account")(_empty_list(why))
        bp.add_url_rule(path, _endpoint(path), view, methods=["GET"])
        for record_path in record_paths:
            one = customer_required("account")(_no_record)
            bp.add_url_rule(record_path, _endpoint(record_path), one, methods=["GET"])


_serve_nothing_here()


@bp.get("/profile/security-questions")
@customer_required("account")
def list_security_questions():
    """No two-factor login exists here for security questions to guard, so there are no
    questions to answer (Linode's shape allows an empty list)."""
    return {"security_questions": []}


def _transfer(session, account_id):
    """Linode's network transfer for the month, in GB, from what exists here.

    `quota` is the monthly transfer allowance of the account's plans: the sum of each live
    instance's plan `transfer` (the whole month's, not pro-rated by the hours it ran, since
    nothing is billed). `used` and `billable` are 0 because no network traffic is metered
    yet, and `region_transfers` is empty because no region here has a pool of its own.
    """
    plans, flt = snapshot().types, filters.Filter()
    quota, page, pages = 0, 1, 1
    while page <= pages:
        req = PageRequest(page, MAX_PAGE_SIZE)
        found, _, pages, _ = instances.listing(session, account_id, flt, req)
        quota += sum(plans[i.type_id].transfer for i in found if i.type_id in plans)
        page += 1
    return {"billable": 0, "quota": quota, "used": 0, "region_transfers": []}


@bp.get("/account/transfer")
@customer_required("account")
def get_transfer():
    return owned(_transfer)


@bp.post("/account/users")
@customer_required("account", write=True)
def create_user():
    """An account here has exactly one user: a second one is refused, whatever the body."""
    raise Invalid.reason(NO_MORE_USERS)


@bp.delete("/account/users/<username>")
@customer_required("account", write=True)
def delete_user(username):
    """The account's one user cannot be deleted (the account would have no user); any
    other username is no user of this account, Linode's 404."""
    if username != owned(accounts.get, render=lambda account: account.username):
        raise NotFound()
    raise Invalid.reason(ONLY_USER)
