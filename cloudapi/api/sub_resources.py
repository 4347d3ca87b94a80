"""The five routes of an instance's sub-resource (disks, configs), declared once.

Both are lists under /linode/instances/{id}/<kind> with Linode's list, create, view,
update and delete, over a service with the same five functions: listing(session,
account_id, instance_id, page) and get(session, account_id, instance_id, item_id) to
read; create(database, principal, instance_id, body), update(..., item_id, body) and
delete(..., item_id) to write, each its own transaction.
"""

from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, owned, principal
from cloudapi.api.pagination import listed


def register(bp, base, service, render, kind):
    """Add the routes for `kind` ("disk", "config") at `base` to the blueprint `bp`."""
    one = f"{base}/<int:item_id>"
    reads, writes = customer_required("linodes"), customer_required("linodes", write=True)

    def list_items(instance_id):
        return listed(service.listing, render, instance_id)

    def create_item(instance_id):
        return render(service.create(database(), principal(), instance_id, body()))

    def get_item(instance_id, item_id):
        return owned(service.get, instance_id, item_id, render=render)

    def update_item(instance_id, item_id):
        return render(service.update(database(), principal(), instance_id, item_id, body()))

    def delete_item(instance_id, item_id):
        service.delete(database(), principal(), instance_id, item_id)
        return {}

    for rule, method, view, guard in (
        (base, "GET", list_items, reads), (base, "POST", create_item, writes),
        (one, "GET", get_item, reads), (one, "PUT", update_item, writes),
        (one, "DELETE", delete_item, writes),
    ):  # fmt: skip
        name = view.__name__.replace("item", kind)
        bp.add_url_rule(rule, endpoint=name, view_func=guard(view), methods=[method])
