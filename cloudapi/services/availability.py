"""What can be deployed where: per account (capabilities) and per region (GPU plans)."""

from cloudapi.features import in_region


def for_account(snapshot, region, features, sellable):
    """Linode's /account/availability item: capabilities available and unavailable.

    A launch's capability (e.g. "GPU Linodes") is available only with the launch's feature
    in this region, in a region with hosts for its plans, while at least one of its plans
    can still be placed there (`sellable`: the plan ids placeable in the region). A caller
    without the feature anywhere is told nothing about it, not even "unavailable": before
    a launch the product does not exist; with it elsewhere only, it is unavailable here.
    """
    gated = snapshot.launches.capabilities
    available = [c for c in region.capabilities if c not in gated]
    unavailable = []
    here = in_region(features, region.id)
    for capability in sorted(gated):
        launches = [
            launch for launch in snapshot.launches
            if launch.capability == capability and launch.feature in features
        ]  # fmt: skip
        if not launches:
            continue
        open_here = any(
            launch.feature in here and launch.gates_plan(plan) and plan.id in sellable
            for launch in launches for plan in snapshot.types.values()
        )  # fmt: skip
        (available if open_here else unavailable).append(capability)
    return {"region": region.id, "available": available, "unavailable": unavailable}


def for_regions(snapshot, regions, features, placeable):
    """Linode's /regions/availability items for the GPU plans this caller may see.

    Every region lists every GPU plan the caller may see (Cloud Manager greys out a plan
    listed unavailable, and offers one not listed): available when its launch is on there
    for the caller and one more instance of it can be placed there now.
    """
    plans = sorted((t for t in snapshot.visible_types(features) if t.gpus), key=lambda t: t.id)
    return [
        {"region": r.id, "plan": p.id,
         "available": (r.id, p.id) in placeable and snapshot.offers(p, r.id, features)}
        for r in regions
        for p in plans
    ]  # fmt: skip
