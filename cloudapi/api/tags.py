"""Tags: the account's tag labels, creating and deleting them, and what each one tags.

Scopes follow Linode: `account:read_only` to read, `account:read_write` to change.
"""

from flask import Blueprint, request

from cloudapi import filters
from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, principal, snapshot
from cloudapi.api.linodes import _render as render_instance
from cloudapi.api.pagination import page_request, paginate_list
from cloudapi.services import tags

bp = Blueprint("tags", __name__)


def _label(label):
    return {"label": label}


@bp.get("/tags")
@customer_required("account")
def list_tags():
    flt = filters.parse(request.headers.get("X-Filter"), tags.FILTERABLE)
    with database().reader() as session:
        labels = tags.labels(session, principal().account_id)
    chosen = filters.apply([_label(t) for t in labels], flt, lambda obj, name: obj.get(name))
    return paginate_list(chosen, page_request(), lambda item: item)


@bp.post("/tags")
@customer_required("account", write=True)
def create_tag():
    return _label(tags.create(database(), principal().account_id, body()))


@bp.get("/tags/<path:label>")
@customer_required("account")
def list_tagged_objects(label):
    """Linode's tagged-object shape: {"type": "linode", "data": <the Linode>}."""
    req = page_request()
    with database().reader() as session:
        found = tags.tagged_instances(session, principal().account_id, label)
        snap = snapshot()
        return paginate_list(
            found, req, lambda i: {"type": "linode", "data": render_instance(i, snap)}
        )


@bp.delete("/tags/<path:label>")
@customer_required("account", write=True)
def delete_tag(label):
    tags.delete_tag(database(), principal().account_id, label)
    return {}
