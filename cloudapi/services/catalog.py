"""The catalog of plan types, regions and images, read from the database and cached."""

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from cloudapi.db.catalog import Image, LinodeType, Region
from cloudapi.services import hosts

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


def _copy(model, rows):
    names = _COPIED[model].split()
    return {r.id: Row({n: getattr(r, n) for n in names}) for r in rows}


class Catalog:
    """Serve the catalog from memory, reloading it from the database every `ttl` seconds."""

    def __init__(self, database, ttl=30.0):
        self._database = database
        self._ttl = ttl
        self._lock = threading.Lock()
        self._snapshot = None
        self._loaded_at = 0.0

    def snapshot(self) -> Snapshot:
        now = time.monotonic()
        if self._snapshot is None or now - self._loaded_at > self._ttl:
            with self._lock:
                if self._snapshot is None or now - self._loaded_at > self._ttl:
                    self._snapshot = self._load()
                    self._loaded_at = time.monotonic()
        return self._snapshot

    def invalidate(self):
        self._snapshot = None

    def _load(self):
        with self._database.reader() as session:
            order = {LinodeType: LinodeType.id, Region: Region.id, Image: Image.id}
            parts = {m: _copy(m, session.scalars(select(m).order_by(o))) for m, o in order.items()}
            gpu_regions = frozenset(hosts.gpu_regions(session))
        return Snapshot(parts[LinodeType], parts[Region], parts[Image], gpu_regions)
