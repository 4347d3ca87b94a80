"""The catalog of plan types, regions and images, read from the database and cached."""

import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from cloudapi.db.catalog import Image, LinodeType, Region
from cloudapi.db.outage import is_unavailable
from cloudapi.services import hosts

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0

_COPIED = {
    LinodeType: (
        "id label type_class disk memory vcpus gpus accelerated_devices network_out transfer "
        "price_hourly price_monthly backups_hourly backups_monthly region_prices successor "
        "required_feature"
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
    # Regions with an active GPU host: they list "GPU Linodes" (to accounts that may see it).
    gpu_regions: frozenset = frozenset()
    # Rendered responses keyed by what they depend on; dropped with the snapshot.
    rendered: dict = field(default_factory=dict)

    def capabilities(self, region):
        """The region's capabilities, "GPU Linodes" included where it has active GPU hosts."""
        extra = ["GPU Linodes"] if region.id in self.gpu_regions else []
        return list(region.capabilities) + extra

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


class Catalog:
    """Serve the catalog from memory, reloading it from the database every `ttl` seconds.

    The catalog changes rarely and every request needs it, so an unreachable database must
    not take it away: when a reload fails for that reason the last snapshot keeps being
    served, and the next attempt waits RETRY_SECONDS (not every request pays a timeout).
    While one thread reloads, the others serve the last snapshot instead of queueing
    behind it. Only the very first load, with nothing to fall back on, raises.
    """

    def __init__(self, database, ttl=30.0):
        self._database = database
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
            gpu_regions = frozenset(hosts.gpu_regions(session))
        types = dict(sorted(parts[LinodeType].items(), key=lambda item: linode_order(item[1])))
        return Snapshot(types, parts[Region], parts[Image], gpu_regions)
