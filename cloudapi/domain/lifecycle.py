"""Which power actions an instance accepts in which status, where each leads, and which
statuses a running job may report on its way."""

from cloudapi.errors import Busy

BUSY = "Linode busy."

# action -> (statuses it may start from, status it moves to)
TRANSITIONS = {
    "boot": ({"offline", "stopped"}, "booting"),
    "reboot": ({"running", "offline", "stopped"}, "rebooting"),
    "shutdown": ({"running", "booting", "rebooting"}, "shutting_down"),
    "resize": ({"running", "offline", "stopped"}, "resizing"),
    "migrate": ({"running", "offline", "stopped"}, "migrating"),
    "rebuild": ({"running", "offline", "stopped"}, "rebuilding"),
    # The target of a clone onto an existing Linode (services/clone.py); a new target
    # starts as a create does, `provisioning`. The source's status does not move.
    "clone": ({"offline", "stopped"}, "cloning"),
    "delete": (None, "deleting"),  # None: from any status but "deleting" itself
}


# While a job runs, the statuses its instance may pass through; then where it ends up.
INTERMEDIATE = {
    "create": {"provisioning", "booting"},
    "boot": {"booting"},
    "reboot": {"rebooting", "booting"},
    "shutdown": {"shutting_down"},
    "resize": {"resizing", "booting"},
    "migrate": {"migrating", "offline", "booting"},  # offline: a cold one copies disks
    "rebuild": {"rebuilding", "booting"},
    "clone": {"provisioning", "cloning"},
    "delete": set(),
}
FINISHED = {"boot": "running", "reboot": "running", "shutdown": "offline"}
# A failed resize leaves the instance offline on its new plan (and its new reservation):
# the customer boots it or resizes again; nothing is held twice.
# A failed migration ends in the status it started from (services/moves.py), not here.
FAILED = {"create": "offline", "boot": "offline", "reboot": "offline", "shutdown": "running",
          "resize": "offline", "migrate": "offline", "rebuild": "offline",
          "clone": "offline"}  # fmt: skip
# Jobs that hold their instance until they end: no other job starts meanwhile, whatever
# the status shows (services/outbox.py), but a delete and a firewall's new rules.
HOLDING = ("resize", "migrate", "rebuild", "clone")
CUTS_IN = frozenset({"delete", "firewall_apply"})
# Statuses in which no action runs on the instance: a clone's source must be in one.
SETTLED = frozenset({"running", "offline", "stopped"})


class TransitionRefused(Busy):
    """The instance's status does not take that action now (Linode: a 400)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def next_status(action: str, status: str) -> str:
    """Return the status `action` moves an instance to, or raise TransitionRefused."""
    allowed, target = TRANSITIONS[action]
    if status == "deleting" or (allowed is not None and status not in allowed):
        if action == "boot" and status == "running":
            raise TransitionRefused("Linode is already running.")
        if action == "shutdown" and status in ("offline", "stopped"):
            raise TransitionRefused("Linode is already offline.")
        raise TransitionRefused(BUSY)
    return target


def require_settled(status: str) -> None:
    """Refuse ("Linode busy.") to read an instance that an action is changing right now."""
    if status not in SETTLED:
        raise TransitionRefused(BUSY)


def initial_status() -> str:
    return "provisioning"


def default_alerts(vcpus: int) -> dict:
    return {
        "cpu": 90 * vcpus,
        "network_in": 10,
        "network_out": 10,
        "transfer_quota": 80,
        "io": 10000,
    }
