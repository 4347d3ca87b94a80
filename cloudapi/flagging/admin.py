"""Release managers' controls: list, flip, sync and audit flags.

Against an Unleash server these go through its Admin API; in the embedded default they
change the flag state stored in our database, which every running process re-reads
within its refresh interval. Every flip is written to our audit table with who did it.
"""

from dataclasses import dataclass, field

import requests
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from cloudapi.db.base import utcnow
from cloudapi.db.flags import FlagAudit, FlagState
from cloudapi.errors import NotFound, Unavailable, UpstreamFailed
from cloudapi.flagging import definitions
from cloudapi.flagging.caches import stored_states
from cloudapi.flagging.names import CONTEXT_FIELDS


@dataclass
class FlagInfo:
    name: str
    enabled: bool
    environment: str
    description: str = ""
    strategies: list = field(default_factory=list)


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


def _audit_row(session, flag, environment, old, new, actor):
    session.add(FlagAudit(flag=flag, environment=environment, old_enabled=old, new_enabled=new,
                          actor=actor))  # fmt: skip


def audit_entries(database, limit=200):
    with database.reader() as session:
        rows = session.scalars(select(FlagAudit).order_by(FlagAudit.id.desc()).limit(limit))
        return [
            {"id": r.id, "flag": r.flag, "environment": r.environment, "from": r.old_enabled,
             "to": r.new_enabled, "actor": r.actor, "at": r.at.strftime("%Y-%m-%dT%H:%M:%S")}
            for r in rows
        ]  # fmt: skip


class LocalFlagAdmin:
    """The embedded default: flags/ for definitions, our database for on/off."""

    mode = "embedded"

    def __init__(self, database, doc, environment):
        self.database, self.doc, self.environment = database, doc, environment

    def flags(self):
        with self.database.reader() as session:
            states = stored_states(session)
        return [
            FlagInfo(f["name"], states.get(f["name"], f["enabled"]), self.environment,
                     f.get("description", ""), [describe_strategy(s) for s in f["strategies"]])
            for f in self.doc["features"]
        ]  # fmt: skip

    def set_enabled(self, name, enabled, actor):
        known = definitions.by_name(self.doc)
        if name not in known:
            raise NotFound.reason(f"no flag named {name!r}")
        with self.database.transaction() as session:
            state = _locked_state(session, name, known[name]["enabled"])
            old = state.enabled
            state.enabled, state.updated, state.updated_by = enabled, utcnow(), actor
            _audit_row(session, name, self.environment, old, enabled, actor)
        return old, enabled

    def sync(self):
        raise Unavailable.reason("no Unleash server configured (UNLEASH_URL): nothing to sync")

    def audit(self, limit=200):
        return audit_entries(self.database, limit)


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


def _same_strategy(a, b):
    def norm(s):
        constraints = sorted(
            (c["contextName"], c["operator"], tuple(sorted(c.get("values", []))),
             bool(c.get("caseInsensitive")), bool(c.get("inverted")))
            for c in s.get("constraints", [])
        )  # fmt: skip
        return s["name"], sorted(s.get("parameters", {}).items()), constraints

    return norm(a) == norm(b)


class UnleashFlagAdmin:
    """A real Unleash server, through its Admin API."""

    mode = "unleash"

    def __init__(self, database, doc, url, token, project, environment, timeout=10):
        if not token:
            raise Unavailable.reason(
                "UNLEASH_ADMIN_TOKEN is required to manage flags on the server"
            )
        self.database, self.doc = database, doc
        self.base = url.rstrip("/") + "/admin"
        self.project, self.environment, self.timeout = project, environment, timeout
        self.session = requests.Session()
        self.session.headers.update({"Authorization": token, "Content-Type": "application/json"})

    def _call(self, method, path, payload=None, allow=()):
        try:
            response = self.session.request(method, self.base + path, json=payload,
                                            timeout=self.timeout)  # fmt: skip
        except requests.RequestException as exc:
            raise UpstreamFailed.reason(f"Unleash server unreachable: {exc}") from None
        if response.status_code in allow:
            return None
        if not response.ok:
            raise UpstreamFailed.reason(
                f"{method} {path}: {response.status_code} {response.text[:300]}"
            )
        return response.json() if response.content else {}

    def _feature(self, name):
        return self._call("GET", f"/projects/{self.project}/features/{name}", allow=(404,))

    def _environment(self, feature):
        for env in feature.get("environments", []):
            if env["name"] == self.environment:
                return env
        raise UpstreamFailed.reason(
            f"environment {self.environment!r} not found for {feature['name']}"
        )

    def flags(self):
        listed = self._call("GET", f"/projects/{self.project}/features")["features"]
        names = [f["name"] for f in self.doc["features"]]
        names += sorted(f["name"] for f in listed if f["name"] not in names)
        out = []
        for name in names:
            feature = self._feature(name)
            if feature is None:
                out.append(FlagInfo(name, False, self.environment, "(missing: run flags sync)"))
                continue
            env = self._environment(feature)
            strategies = [describe_strategy(s) for s in env.get("strategies", [])]
            description = feature.get("description") or ""
            out.append(FlagInfo(name, env["enabled"], self.environment, description, strategies))
        return out

    def set_enabled(self, name, enabled, actor):
        feature = self._feature(name)
        if feature is None:
            raise NotFound.reason(
                f"no flag named {name!r} on the server (run `cloudapi flags sync`)"
            )
        old = self._environment(feature)["enabled"]
        toggle = "on" if enabled else "off"
        path = f"/projects/{self.project}/features/{name}/environments/{self.environment}"
        self._call("POST", f"{path}/{toggle}")
        with self.database.transaction() as session:
            _audit_row(session, name, self.environment, old, enabled, actor)
        return old, enabled

    def sync(self):
        """Create missing context fields, flags and strategies; never flip an existing flag."""
        actions = []
        for name in CONTEXT_FIELDS:
            if self._call("GET", f"/context/{name}", allow=(404,)) is None:
                self._call("POST", "/context", {"name": name, "stickiness": False})
                actions.append(f"created context field {name}")
        for wanted in self.doc["features"]:
            actions += self._sync_feature(wanted)
        return actions

    def _sync_feature(self, wanted):
        name, actions = wanted["name"], []
        feature = self._feature(name)
        created = feature is None
        if created:
            self._call("POST", f"/projects/{self.project}/features", {
                "name": name, "type": wanted.get("type", "release"),
                "description": wanted.get("description", ""),
                "impressionData": wanted.get("impressionData", False),
            })  # fmt: skip
            actions.append(f"created flag {name}")
            feature = self._feature(name)
        existing = self._environment(feature).get("strategies", [])
        path = f"/projects/{self.project}/features/{name}/environments/{self.environment}"
        for strategy in wanted["strategies"]:
            if not any(_same_strategy(strategy, e) for e in existing):
                body = {
                    k: strategy[k] for k in ("name", "parameters", "constraints") if k in strategy
                }
                self._call("POST", f"{path}/strategies", body)
                actions.append(f"added strategy to {name}: {describe_strategy(strategy)}")
        if created and wanted.get("enabled"):
            self._call("POST", f"{path}/on")
            actions.append(f"enabled new flag {name} as defined")
        return actions

    def audit(self, limit=200):
        return audit_entries(self.database, limit)


def flag_admin(config, database):
    """The admin for the configured mode: the Unleash server, or the embedded default."""
    doc = definitions.load(config["FLAGS_FILE"])
    if config["UNLEASH_URL"]:
        return UnleashFlagAdmin(
            database, doc, config["UNLEASH_URL"], config["UNLEASH_ADMIN_TOKEN"],
            config["UNLEASH_PROJECT"], config["UNLEASH_ENVIRONMENT"],
        )  # fmt: skip
    return LocalFlagAdmin(database, doc, config["UNLEASH_ENVIRONMENT"])
