"""Instance addresses (placeholder until the address pools land: ids derive addresses)."""


def assign(session, instance, data):
    """Allocate `instance`'s addresses in the caller's transaction."""


def release(session, instance):
    """Free `instance`'s addresses in the caller's transaction."""
