"""Release managers' controls against a real Unleash server, through its Admin API.

Flips go to the server (on/off, and a launch flag's region scope and rollout as its
flexibleRollout strategy's `region IN` constraint and `rollout` parameter); every flip is
also written to our audit table with who did it. `sync` pushes flags/ to the server.

Written against unleash-server 8.2 (tools/unleash): on/off is POST
.../environments/{env}/on|off; a scope change is PUT .../strategies/{id}, which replaces
the strategy's constraints and variants (an omitted list becomes empty), so the PUT
sends back everything the server holds besides the scope.
"""

import requests

from cloudapi.errors import NotFound, Unavailable, UpstreamFailed
from cloudapi.flagging import definitions
from cloudapi.flagging.admin import FlagInfo, ScopedFlips, audit_row, describe_strategy, flip_result
from cloudapi.flagging.definitions import Setting
from cloudapi.flagging.launches import SCOPED_STRATEGY
from cloudapi.flagging.names import CONTEXT_FIELDS
from cloudapi.flagging.rollout import Scope

# What a scope PUT sends back of the strategy: 8.2 empties variants and constraints left
# out of the body (title and segments, as ids, it leaves alone; sent back, they stay).
STRATEGY_FIELDS = ("name", "parameters", "constraints", "variants", "segments", "title",
                   "disabled")  # fmt: skip


def _norm(strategy):
    constraints = sorted(
        (c["contextName"], c["operator"], tuple(sorted(c.get("values", []))),
         bool(c.get("caseInsensitive")), bool(c.get("inverted")))
        for c in strategy.get("constraints", [])
    )  # fmt: skip
    return strategy["name"], sorted(strategy.get("parameters", {}).items()), constraints


def _unscoped(strategy):
    """A launch flag's strategy without its scope (rollout, region constraint): the part of
    it flags/ defines, whatever regions and share release managers have set since."""
    parameters = {k: v for k, v in strategy.get("parameters", {}).items() if k != "rollout"}
    constraints = [c for c in strategy.get("constraints", []) if c["contextName"] != "region"]
    return {**strategy, "parameters": parameters, "constraints": constraints}


class UnleashFlagAdmin(ScopedFlips):
    """A real Unleash server, through its Admin API."""

    mode = "unleash"

    def __init__(self, database, doc, environment, launches, url, token, project, timeout=10):
        if not token:
            raise Unavailable.reason(
                "UNLEASH_ADMIN_TOKEN is required to manage flags on the server"
            )
        super().__init__(database, doc, environment, launches)
        self.base = url.rstrip("/") + "/admin"
        self.project, self.timeout = project, timeout
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

    def _env_path(self, name):
        return f"/projects/{self.project}/features/{name}/environments/{self.environment}"

    def _environment(self, feature):
        for env in feature.get("environments", []):
            if env["name"] == self.environment:
                return env
        raise UpstreamFailed.reason(
            f"environment {self.environment!r} not found for {feature['name']}"
        )

    def _is_launch_flag(self, name):
        launch = self.launches.by_flag.get(name)
        return launch is not None and launch.launch_flag == name

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
            setting = _server_setting(env, self._scoped_strategy(name, env))
            regions = list(setting.regions) if setting.regions is not None else None
            out.append(FlagInfo(name, env["enabled"], self.environment, description, strategies,
                                regions, setting.rollout))  # fmt: skip
        return out

    def _scoped_strategy(self, name, env):
        """A launch flag's flexibleRollout strategy on the server (None for other flags).

        The first by the server's sort order, as `sync` creates only one: a second one
        added by hand would not be scoped, so `flags list` shows both.
        """
        if not self._is_launch_flag(name):
            return None
        found = [x for x in env.get("strategies", []) if x["name"] == SCOPED_STRATEGY]
        return found[0] if found else None

    def set_enabled(self, name, enabled, actor, scope=Scope()):
        """Flip `name` on the server, then audit it.

        The order keeps every step inside what the release manager allowed: a launch that
        turns on gets its scope first, a rollback turns off first (its region constraint
        is then dropped); otherwise the flag would be on everywhere in between.
        """
        feature = self._feature(name)
        if feature is None:
            raise NotFound.reason(
                f"no flag named {name!r} on the server (run `cloudapi flags sync`)"
            )
        env = self._environment(feature)
        strategy = self._scoped_strategy(name, env)
        current = _server_setting(env, strategy)
        new, change = self.next_setting(name, current, enabled, scope)
        if strategy is None and self._is_launch_flag(name) and not scope.empty:
            # Without the strategy the scope has nowhere to go: the flag would open everywhere.
            raise UpstreamFailed.reason(f"{name} has no {SCOPED_STRATEGY} strategy on the "
                                        "server to scope (run `cloudapi flags sync`)")  # fmt: skip
        path = self._env_path(name)
        rescope = strategy is not None and (new.regions, new.rollout) != (
            current.regions,
            current.rollout,
        )
        if new.enabled != current.enabled and not new.enabled:
            self._call("POST", f"{path}/off")
        if rescope:
            body = definitions.scoped(strategy, new.regions, new.rollout)
            body = {k: body[k] for k in STRATEGY_FIELDS if k in body}
            self._call("PUT", f"{path}/strategies/{strategy['id']}", body)
        if new.enabled != current.enabled and new.enabled:
            self._call("POST", f"{path}/on")
        with self.database.transaction() as session:
            audit_row(session, name, self.environment, current.enabled, new.enabled, actor,
                       change)  # fmt: skip
        return flip_result(name, current.enabled, new, change)

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
        """Create the flag and each strategy the server lacks.

        A launch flag's flexibleRollout is compared without its scope: after a scoped
        launch the server's differs from flags/ in rollout and regions, and adding flags/'
        unconstrained one beside it would open the launch to everyone.
        """
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
        launch_flag = self._is_launch_flag(name)
        for strategy in wanted["strategies"]:
            scoped = launch_flag and strategy["name"] == SCOPED_STRATEGY
            view = _unscoped if scoped else (lambda s: s)
            if any(_norm(view(strategy)) == _norm(view(e)) for e in existing):
                continue
            if scoped and any(e["name"] == SCOPED_STRATEGY for e in existing):
                actions.append(f"left {name}'s {SCOPED_STRATEGY} as it is on the server "
                               f"(flags/ has: {describe_strategy(strategy)})")  # fmt: skip
                continue
            body = {k: strategy[k] for k in ("name", "parameters", "constraints") if k in strategy}
            self._call("POST", f"{self._env_path(name)}/strategies", body)
            actions.append(f"added strategy to {name}: {describe_strategy(strategy)}")
        if created and wanted.get("enabled"):
            self._call("POST", f"{self._env_path(name)}/on")
            actions.append(f"enabled new flag {name} as defined")
        return actions


def _server_setting(env, strategy):
    """The Setting a flag has on the server: on/off, and its strategy's region and rollout.

    The rollout is the server's own (flags/ defines 100: a fresh launch flag reads 100,
    where the embedded default says None, "as defined").
    """
    if strategy is None:
        return Setting(env["enabled"])
    regions = None
    for constraint in strategy.get("constraints", []):
        if (constraint.get("contextName"), constraint.get("operator")) == ("region", "IN") and (
            not constraint.get("inverted")
        ):
            regions = tuple(sorted(constraint.get("values", [])))
    raw = strategy.get("parameters", {}).get("rollout")
    return Setting(env["enabled"], regions, int(raw) if raw not in (None, "") else None)
