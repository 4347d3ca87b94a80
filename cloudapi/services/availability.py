"""What can be deployed where: per account (capabilities) and per region (GPU plans)."""

from cloudapi.features import GATED_CAPABILITIES, GPU_LINODES


def for_account(region, capabilities, features, gpu_sellable):
    """Linode's /account/availability item: capabilities available and unavailable.

    "GPU Linodes" is available only with the feature, in a region with GPU hosts, while at
    least one GPU plan can still be placed there. A caller without the feature is told
    nothing about it, not even "unavailable": before a launch the product does not exist.
    """
    available = [c for c in capabilities if c not in GATED_CAPABILITIES]
    unavailable = []
    for capability, feature in GATED_CAPABILITIES.items():
        if feature not in features:
            continue
        sold_out = feature == GPU_LINODES and not gpu_sellable
        if capability in capabilities and not sold_out:
            available.append(capability)
        else:
            unavailable.append(capability)
    return {"region": region.id, "available": available, "unavailable": unavailable}


def for_regions(snapshot, regions, features, placeable):
    """Linode's /regions/availability items for the GPU plans this caller may see."""
    plans = [t for t in snapshot.visible_types(features) if t.gpus]
    return [
        {"region": r.id, "plan": p.id, "available": (r.id, p.id) in placeable}
        for r in regions
        for p in sorted(plans, key=lambda t: t.id)
    ]
