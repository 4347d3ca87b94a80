"""The product's state as Prometheus gauges, read from the database when /metrics is scraped.

State (GPUs, sellable capacity, instances, the outbox, flags) lives in the database, which
every worker shares: read at scrape time by the one worker that answers, it is reported
once, is never stale, and costs nothing between scrapes. Each part is read on its own;
one that fails (say, the Unleash server behind the flags) is left out of that scrape and
its `cloudapi_scrape_collector_success` is 0, while the others are still reported.
"""

import logging
from datetime import UTC

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from cloudapi.db.base import precise_utcnow
from cloudapi.db.flags import FlagAudit
from cloudapi.db.instances import Instance
from cloudapi.db.inventory import Gpu, Host
from cloudapi.db.jobs import Job
from cloudapi.services import capacity

log = logging.getLogger(__name__)

GPU_STATES = ("free", "allocated", "maintenance")


def gpu_state(held, host_status):
    """A GPU's state: held by an instance; else free on an active host; else maintenance
    (its host is in maintenance or draining: nothing new is placed there)."""
    if held:
        return "allocated"
    return "free" if host_status == "active" else "maintenance"


def _gpus(session, _app):
    family = GaugeMetricFamily("cloudapi_gpus", "GPUs by region and state (free, allocated, "
                               "maintenance).", labels=["region", "state"])  # fmt: skip
    held = Gpu.instance_id.is_not(None)
    rows = session.execute(
        select(Host.region_id, Host.status, held, func.count(Gpu.id))
        .join(Host, Gpu.host_id == Host.id)
        .group_by(Host.region_id, Host.status, held)
    ).all()
    counts = {}
    for region, status, is_held, count in rows:
        per_region = counts.setdefault(region, dict.fromkeys(GPU_STATES, 0))
        per_region[gpu_state(is_held, status)] += count
    for region, states in sorted(counts.items()):
        for state, count in states.items():
            family.add_metric([region, state], count)
    return [family]


def _sellable(session, app):
    family = GaugeMetricFamily(
        "cloudapi_sellable_instances",
        "How many more instances of each GPU plan could be placed now, by plan and region.",
        labels=["plan", "region"],
    )
    report = capacity.report(session, app.extensions["cloudapi.catalog"].snapshot())
    for region in report["regions"]:
        for plan, count in sorted(region["sellable"].items()):
            family.add_metric([plan, region["region"]], count)
    return [family]


def _instances(session, _app):
    family = GaugeMetricFamily("cloudapi_instances", "Live (not deleted) Linodes by status.",
                               labels=["status"])  # fmt: skip
    rows = session.execute(
        select(Instance.status, func.count(Instance.id))
        .where(Instance.deleted_at.is_(None))
        .group_by(Instance.status)
        .order_by(Instance.status)
    ).all()
    for status, count in rows:
        family.add_metric([status], count)
    return [family]


def _outbox(session, _app):
    unsent = Job.sent_at.is_(None)
    count, oldest = session.execute(select(func.count(Job.id), func.min(Job.created))
                                    .where(unsent)).one()  # fmt: skip
    age = max(0.0, (precise_utcnow() - oldest).total_seconds()) if oldest else 0.0
    return [
        GaugeMetricFamily("cloudapi_outbox_pending_jobs",
                          "Jobs in the outbox the relay has not sent yet.", value=count),
        GaugeMetricFamily("cloudapi_outbox_oldest_pending_age_seconds",
                          "Age of the oldest unsent job (0 when none waits).", value=age),
    ]  # fmt: skip


def _flags(session, app):
    enabled = GaugeMetricFamily(
        "cloudapi_flag_enabled",
        "Whether each flag is on (1) or off (0), per environment.",
        labels=["flag", "environment"],
    )
    flipped = GaugeMetricFamily(
        "cloudapi_flag_last_flip_timestamp_seconds",
        "When each flag was last flipped (Unix time), per environment; flags never flipped "
        "here have none.",
        labels=["flag", "environment"],
    )
    for flag in flag_admin(app).flags():
        enabled.add_metric([flag.name, flag.environment], 1 if flag.enabled else 0)
    rows = session.execute(
        select(FlagAudit.flag, FlagAudit.environment, func.max(FlagAudit.at))
        .group_by(FlagAudit.flag, FlagAudit.environment)
        .order_by(FlagAudit.flag, FlagAudit.environment)
    ).all()
    for name, environment, at in rows:
        flipped.add_metric([name, environment], at.replace(tzinfo=UTC).timestamp())
    return [enabled, flipped]


def flag_admin(app):
    """The app's flag admin, shared with the admin API (built once, on first use)."""
    from cloudapi.flagging.admin import flag_admin as make

    if "cloudapi.flag_admin" not in app.extensions:
        app.extensions["cloudapi.flag_admin"] = make(app.config, app.extensions["cloudapi.db"])
    return app.extensions["cloudapi.flag_admin"]


PARTS = {"gpus": _gpus, "sellable": _sellable, "instances": _instances, "outbox": _outbox,
         "flags": _flags}  # fmt: skip


class StateCollector:
    """A prometheus_client collector over one app's database, catalog and flags."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        success = GaugeMetricFamily(
            "cloudapi_scrape_collector_success",
            "Whether each part of the state collector was read in this scrape (1) or not (0).",
            labels=["collector"],
        )
        database = self.app.extensions["cloudapi.db"]
        for name, part in PARTS.items():
            try:
                with database.reader() as session:
                    families = part(session, self.app)  # all of a part, or nothing of it
            except Exception:
                log.warning("metrics: %s not collected", name, exc_info=True)
                families = None
            success.add_metric([name], 0 if families is None else 1)
            yield from families or ()
        yield success
