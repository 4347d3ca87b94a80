"""What an instance owns besides its row: its addresses, its disks and its configs.

A create makes them and a delete gives them back, each in the create's or the delete's
own transaction (services/instances.py calls these two), so an instance never exists
without its parts and no part outlives its instance.
"""

from cloudapi.services import addresses, moves, outbox, storage


def on_create(session, instance, plan, data, image):
    """Allocate the new instance's addresses and make its disks and config profile."""
    addresses.assign(session, instance, data)
    storage.provision(session, instance, plan, data, image)


def on_delete(session, instance):
    """Free the deleted instance's addresses and remove its disks and configs; a migration
    under way leaves no copy behind on the side the delete job does not reach."""
    moves.on_delete(session, instance, outbox.queue_of(session, instance))
    addresses.release(session, instance)
    storage.remove(session, instance)
