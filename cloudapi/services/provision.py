"""What a create hands the host agent (docs/jobs.md): the build payload and the placement."""

from cloudapi.domain import placement
from cloudapi.errors import Invalid
from cloudapi.services import reservations


def payload(data, label, plan):
    """What the host agent needs to build the instance. The root password, when sent, goes
    sealed to the agent (the outbox seals it: services/sealing.py) and is never kept."""
    secret = {"root_pass": data["root_pass"]} if data.get("root_pass") else {}
    return {
        **secret,
        "region": data["region"],
        "image": data.get("image"),
        "booted": data.get("booted", data.get("image") is not None),
        "authorized_keys": data.get("authorized_keys", []),
        "swap_size": data.get("swap_size", 512),
        "user_data": data.get("metadata", {}).get("user_data"),
        # Legacy config interfaces (public, VLAN, VPC) as sent: the agent attaches them.
        "interfaces": data.get("interfaces", []),
        "label": label,
        "specs": specs(plan),
        "placement": None,
    }


def specs(plan):
    """A plan's size as the host agent builds it."""
    return {"vcpus": plan.vcpus, "memory_mb": plan.memory, "disk_mb": plan.disk, "gpus": plan.gpus}


def reserve(session, instance, plan):
    """Reserve a GPU plan's capacity in the caller's transaction; its part of the payload.

    No room in the region is the customer's 400 on `type`, naming what is short.
    """
    try:
        chosen, host = reservations.reserve(session, instance, plan, instance.numa_affinity)
    except placement.NoCapacity as exc:
        reason = f"No capacity for {plan.id} in {instance.region_id}: {exc.reason}"
        raise Invalid.field("type", reason) from None
    return {"numa_affinity": instance.numa_affinity,
            "placement": reservations.describe(session, chosen, host)}  # fmt: skip
