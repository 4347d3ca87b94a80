"""What an account can deploy in each region."""

from cloudapi.features import GATED_CAPABILITIES


def for_account(region, features):
    """Linode's /account/availability item: capabilities available and unavailable."""
    available = [c for c in region.capabilities if c not in GATED_CAPABILITIES]
    unavailable = []
    for capability, feature in GATED_CAPABILITIES.items():
        if feature in features and capability in region.capabilities:
            available.append(capability)
        else:
            unavailable.append(capability)
    return {"region": region.id, "available": available, "unavailable": unavailable}
