"""Instance disks and config profiles (placeholder until they are state)."""


def provision(session, instance, plan, data, image):
    """Make `instance`'s disks and config profile in the caller's transaction."""


def remove(session, instance):
    """Remove `instance`'s disks and configs in the caller's transaction."""
