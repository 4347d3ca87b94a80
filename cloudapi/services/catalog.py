"""The catalog of plan types, regions and images, read from the database and cached."""

import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from cloudapi.db.catalog import Image, LinodeType, Region
from cloudapi.db.outage import is_unavailable
from cloudapi.features import in_region
from cloudapi.flagging.launches import Launches
from cloudapi.services import hosts
from cloudapi.services.capacity import takes

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0

_COPIED = {
    LinodeType: (
        "id label type_class disk memory vcpus gpus accelerated_devices network_out transfer "
        "price_hourly price_monthly backups_hourly backups_monthly region_prices successor "
        "required_feature gpu_device_ids"
    ),
    Region: "id label country capabilities status resolvers_ipv4 resolvers_ipv6 site_type",
    Image: "id label description vendor size created eol deprecated capabilities",
}


@dataclass(frozen=True)
class Row:
    """A read-only copy of a catalog row, safe to share between requests."""

    values: dict

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class Snapshot:
    types: dict[str, Row]
    regions: dict[str, Row]
    images: dict[str, Row]
    # Per region, the PCI device ids of the GPUs on its active hosts.
    gpu_devices: dict = field(default_factory=dict)
    launches: Launches = field(default_factory=Launches)
    # Rendered responses keyed by what they depend on; dropped with the snapshot.
    rendered: dict = field(default_factory=dict)

    @property
    def gpu_regions(self):
        return frozenset(r for r, devices in self.gpu_devices.items() if devices)

    def hosted(self, plan, region_id):
        """Whether `region_id` has active hosts with the GPU model `plan` needs."""
        if not plan.gpus:
            return True
        return takes(plan, self.gpu_devices.get(region_id, ()))

    def offers(self, plan, region_id, features):
        """Whether a caller with `features` may deploy `plan` in `region_id` now."""
        needed = plan.required_feature
        if needed is not None and needed not in in_region(features, region_id):
            return False
        return self.hosted(plan, region_id)

    def capabilities(self, region, features):
        """The region's capabilities as this caller sees them.

        A launch's capability (e.g. "GPU Linodes") shows where the caller has the launch's
        feature in this region and the region has hosts for one of its plans.
        """
        gated = self.launches.capabilities
        shown = [c for c in region.capabilities if c not in gated]
        here = in_region(features, region.id)
        for launch in self.launches:
            if launch.capability in shown or launch.feature not in here:
                continue
            if any(launch.gates_plan(t) and self.hosted(t, region.id) for t in self.types.values()):
                shown.append(launch.capability)
        return shown

    def account_capabilities(self, capabilities, features):
        """The account's capabilities: a launch's capability only with its feature."""
        gated = {launch.capability: launch.feature for launch in self.launches}
        owned = {c for c, f in gated.items() if f in features}
        return [c for c in capabilities if c not in gated or c in owned]

    def visible_types(self, features):
        return [t for t in self.types.values() if _visible(t, features)]

    def visible_type(self, type_id, features):
        found = self.types.get(type_id)
        return found if found is not None and _visible(found, features) else None


def _visible(plan, features):
    return plan.required_feature is None or plan.required_feature in features


# Linode lists its plans class by class, smallest first within each, GPU plans last;
# linode-cli's own tests take the first row of `linodes types` as their default plan.
CLASS_ORDER = ("nanode", "standard", "dedicated", "premium", "highmem", "gpu")


def linode_order(plan):
    """The sort key that puts plans in Linode's order."""
    rank = CLASS_ORDER.index(plan.type_class) if plan.type_class in CLASS_ORDER else 99
    return (rank, plan.memory, plan.id)


def _copy(model, rows):
    names = _COPIED[model].split()
    return {r.id: Row({n: getattr(r, n) for n in names}) for r in rows}


def _gated(plans, launches):
    """Each plan with the feature it needs: its launch's, else the catalog's own marker.

    The catalog's `required_feature` keeps a plan hidden (fail closed) even if its
    launch definition were missing; the launch decides when both exist.
    """
    out = {}
    for plan_id, plan in plans.items():
        feature = launches.plan_feature(plan) or plan.required_feature
        out[plan_id] = Row({**plan.values, "required_feature": feature})
    return out


class Catalog:
    """Serve the catalog from memory, reloading it from the database every `ttl` seconds.

    The catalog changes rarely and every request needs it, so an unreachable database must
    not take it away: when a reload fails for that reason the last snapshot keeps being
    served, and the next attempt waits RETRY_SECONDS (not every request pays a timeout).
    While one thread reloads, the others serve the last snapshot instead of queueing
    behind it. Only the very first load, with nothing to fall back on, raises.
    """

    def __init__(self, database, ttl=30.0, launches=None):
        self._database = database
        self._launches = launches or Launches()
        self._ttl = ttl
        self._lock = threading.Lock()
        self._snapshot = None
        self._fresh_until = 0.0

    def snapshot(self) -> Snapshot:
        last = self._snapshot
        if last is not None and time.monotonic() < self._fresh_until:
            return last
        if last is None:
            with self._lock:
                if self._snapshot is None:
                    self._reload()
                return self._snapshot
        if not self._lock.acquire(blocking=False):
            return last  # another thread is reloading
        try:
            if time.monotonic() >= self._fresh_until:
                self._reload(fallback=last)
            return self._snapshot
        finally:
            self._lock.release()

    def _reload(self, fallback=None):
        try:
            self._snapshot = self._load()
        except SQLAlchemyError as exc:
            if fallback is None or not is_unavailable(exc):
                raise
            log.warning("catalog reload failed (%s); serving the last snapshot", exc)
            self._fresh_until = time.monotonic() + RETRY_SECONDS
            return
        self._fresh_until = time.monotonic() + self._ttl

    def invalidate(self):
        self._snapshot = None

    def _load(self):
        with self._database.reader() as session:
            order = {LinodeType: LinodeType.id, Region: Region.id, Image: Image.id}
            parts = {m: _copy(m, session.scalars(select(m).order_by(o))) for m, o in order.items()}
            gpu_devices = hosts.gpu_devices(session)
        types = _gated(parts[LinodeType], self._launches)
        types = dict(sorted(types.items(), key=lambda item: linode_order(item[1])))
        return Snapshot(types, parts[Region], parts[Image], gpu_devices, self._launches)
