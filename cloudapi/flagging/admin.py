"""Release managers' controls: list, flip, sync and audit flags.

Against an Unleash server these go through its Admin API; in the embedded default they
change the flag state stored in our database, which every running process re-reads
within its refresh interval. Every flip is written to our audit table with who did it.
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from cloudapi.db.base import utcnow
from cloudapi.db.flags import FlagAudit, FlagState
from cloudapi.errors import Invalid, NotFound, Unavailable
from cloudapi.flagging import definitions, rollout
from cloudapi.flagging.caches import stored_states
from cloudapi.flagging.definitions import Setting
from cloudapi.flagging.launches import SCOPED_STRATEGY, for_flags_file
from cloudapi.flagging.rollout import Scope
from cloudapi.flagging.watch import announce
from cloudapi.services.catalog import Catalog

EMPTY_SCOPE = Scope()


@dataclass
class FlagInfo:
    name: str
    enabled: bool
    environment: str
    description: str = ""
    strategies: list = field(default_factory=list)
    # A launch flag's scope: the regions it is on in (None: everywhere) and its rollout.
    regions: list | None = None
    rollout: int | None = None


@dataclass
class Flip:
    """What one flip did: on/off before and after, and the scope it left."""

    name: str
    old: bool | None
    new: bool
    change: str | None = None
    regions: list | None = None
    rollout: int | None = None


def describe_strategy(strategy):
    """One line per strategy, e.g. `flexibleRollout 100% where accountTags STR_CONTAINS ...`."""
    text = strategy["name"]
    rollout = strategy.get("parameters", {}).get("rollout")
    if rollout is not None:
        text += f" {rollout}%"
    conditions = [
        f"{c['contextName']} {'NOT ' if c.get('inverted') else ''}{c['operator']} "
        + "|".join(c.get("values", []))
        for c in strategy.get("constraints", [])
    ]
    return text + (" where " + " and ".join(conditions) if conditions else "")


def audit_row(session, flag, environment, old, new, actor, change=None):
    session.add(FlagAudit(flag=flag, environment=environment, old_enabled=old, new_enabled=new,
                          actor=actor, change=change))  # fmt: skip


def audit_entries(database, limit=200):
    with database.reader() as session:
        rows = session.scalars(select(FlagAudit).order_by(FlagAudit.id.desc()).limit(limit))
        return [
            {"id": r.id, "flag": r.flag, "environment": r.environment, "from": r.old_enabled,
             "to": r.new_enabled, "change": r.change, "actor": r.actor,
             "at": r.at.strftime("%Y-%m-%dT%H:%M:%S")}
            for r in rows
        ]  # fmt: skip


class ScopedFlips:
    """What both admins share: a launch flag's scope, checked before any flip is made."""

    def __init__(self, database, doc, environment, launches):
        self.database, self.doc, self.environment = database, doc, environment
        self.launches = launches
        self.catalog = Catalog(database, ttl=5.0, launches=launches)

    def next_setting(self, name, current, enabled, scope, check=True):
        """The flag's Setting after the flip and what changed; refuses what cannot be done.

        Only a launch's launch flag takes a scope. With `check`, opening regions where the
        launch has nothing to sell is refused (rollout.check_ready) unless forced.
        """
        launch = self.launches.by_flag.get(name)
        if not scope.empty and (launch is None or launch.launch_flag != name):
            raise Invalid.field("regions", f"{name} is not a launch flag: it takes no "
                                "region or rollout")  # fmt: skip
        snapshot = self.catalog.snapshot()
        for region in (*scope.add_regions, *scope.remove_regions):
            if region not in snapshot.regions:
                raise Invalid.field("regions", f"{region} is not a region")
        new = rollout.next_setting(name, current, enabled, scope)
        if check and launch is not None and scope.add_regions:
            with self.database.reader() as session:
                sellable = rollout.sellable_by_region(session, snapshot, launch)
            opening = rollout.newly_open(current, new, ())
            rollout.check_ready(launch, opening, sellable, scope.force)
        return new, rollout.describe_change(current, new)

    def audit(self, limit=200):
        return audit_entries(self.database, limit)

    def defined_rollout(self, name):
        """A launch flag's rollout as flags/ defines it (what an Unleash server reports for
        a flag never scoped), so both modes say the same; None for other flags."""
        launch = self.launches.by_flag.get(name)
        if launch is None or launch.launch_flag != name:
            return None
        feature = definitions.by_name(self.doc)[name]
        for strategy in feature["strategies"]:
            if strategy["name"] == SCOPED_STRATEGY:
                return int(strategy.get("parameters", {}).get("rollout", 100))
        return None

    def stored_setting(self, name, state, default_enabled):
        """The flag's Setting from its flag_states row (None: as flags/ defines it)."""
        if state is None:
            return Setting(default_enabled, None, self.defined_rollout(name))
        regions = tuple(state.regions) if state.regions is not None else None
        rollout_now = state.rollout if state.rollout is not None else self.defined_rollout(name)
        return Setting(state.enabled, regions, rollout_now)


class LocalFlagAdmin(ScopedFlips):
    """The embedded default: flags/ for definitions, our database for on/off and scope."""

    mode = "embedded"

    def flags(self):
        with self.database.reader() as session:
            states = stored_states(session)
        out = []
        for f in definitions.with_states(self.doc, states)["features"]:
            setting = states.get(f["name"], Setting(f["enabled"]))
            if setting.rollout is None:
                setting = Setting(setting.enabled, setting.regions, self.defined_rollout(f["name"]))
            out.append(FlagInfo(
                f["name"], f["enabled"], self.environment, f.get("description", ""),
                [describe_strategy(s) for s in f["strategies"]],
                list(setting.regions) if setting.regions is not None else None, setting.rollout,
            ))  # fmt: skip
        return out

    def set_enabled(self, name, enabled, actor, scope=EMPTY_SCOPE):
        known = definitions.by_name(self.doc)
        if name not in known:
            raise NotFound.reason(f"no flag named {name!r}")
        default = known[name]["enabled"]
        with self.database.reader() as session:
            current = self.stored_setting(name, session.get(FlagState, name), default)
        self.next_setting(name, current, enabled, scope)  # refuses before anything is written
        with self.database.transaction() as session:
            state = _locked_state(session, name, default)
            current = self.stored_setting(name, state, default)
            new, change = self.next_setting(name, current, enabled, scope, check=False)
            state.enabled, state.regions, state.rollout = (
                new.enabled,
                list(new.regions) if new.regions is not None else None,
                new.rollout,
            )
            state.updated, state.updated_by = utcnow(), actor
            audit_row(session, name, self.environment, current.enabled, new.enabled, actor,
                       change)  # fmt: skip
            announce(session)
        return flip_result(name, current.enabled, new, change)

    def sync(self):
        raise Unavailable.reason("no Unleash server configured (UNLEASH_URL): nothing to sync")


def flip_result(name, old, new, change):
    regions = list(new.regions) if new.regions is not None else None
    return Flip(name, old, new.enabled, change, regions, new.rollout)


def _locked_state(session, name, default):
    """The flag's state row, created from flags/ if missing, locked for this transaction.

    Concurrent first flips would otherwise both insert the row (a unique violation). The
    insert does nothing when the row exists, and the row lock (SQLite: the writer lock)
    orders the flips, so each audit row records the state its flip really replaced.
    """
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    session.execute(
        insert(FlagState)
        .values(name=name, enabled=default, updated=utcnow(), updated_by="flags/")
        .on_conflict_do_nothing(index_elements=["name"])
    )
    query = select(FlagState).where(FlagState.name == name).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one()


def flag_admin(config, database):
    """The admin for the configured mode: the Unleash server, or the embedded default."""
    doc = definitions.load(config["FLAGS_FILE"])
    launches = for_flags_file(config["FLAGS_FILE"])
    if config["UNLEASH_URL"]:
        from cloudapi.flagging.unleash_admin import UnleashFlagAdmin

        return UnleashFlagAdmin(
            database, doc, config["UNLEASH_ENVIRONMENT"], launches, config["UNLEASH_URL"],
            config["UNLEASH_ADMIN_TOKEN"], config["UNLEASH_PROJECT"],
        )  # fmt: skip
    return LocalFlagAdmin(database, doc, config["UNLEASH_ENVIRONMENT"], launches)
