"""Product launches as data: flags/launches/*.json, one file per launch.

A launch names its feature, the two Unleash flags that turn it on (the early-access flag
for employees and beta enrollees, the launch flag for everyone else), the plans it gates
(by id or by class), the create/resize parameters it gates, the region capability it
gates and its beta. The code asks only "is feature F on for this caller (in this
region)?"; nothing outside flags/ and the catalog names a GPU product.

`load` validates every definition against the flags file at start-up (and for `cloudapi
flags check`), so a launch that names a missing flag, a launch flag that cannot be scoped
to regions or percentages, or two launches claiming one plan never start.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from cloudapi.flagging import definitions
from cloudapi.flagging.definitions import DefinitionError

DEFAULT_DIR = definitions.DEFAULT_FILE.parent / "launches"
KEYS = {"feature", "label", "early_access_flag", "launch_flag", "plans", "parameters",
        "capability", "beta"}  # fmt: skip
# The Unleash strategy a launch flag scopes: its rollout and its region constraint.
SCOPED_STRATEGY = "flexibleRollout"


@dataclass(frozen=True)
class Launch:
    feature: str
    label: str
    early_access_flag: str
    launch_flag: str
    plan_ids: frozenset
    plan_classes: frozenset
    parameters: frozenset
    capability: str | None
    beta: str | None

    @property
    def flags(self):
        """The launch flag first: once launched, early access need not be evaluated."""
        return (self.launch_flag, self.early_access_flag)

    def gates_plan(self, plan):
        return plan.id in self.plan_ids or (
            not self.plan_ids and plan.type_class in self.plan_classes
        )


class Launches:
    """Every launch, and the lookups the gates need."""

    def __init__(self, launches=()):
        self.all = tuple(launches)
        self.by_feature = {launch.feature: launch for launch in self.all}
        self.by_flag = {f: launch for launch in self.all for f in launch.flags}

    def __iter__(self):
        return iter(self.all)

    def plan_feature(self, plan):
        """The feature `plan` needs: by id first, then by class; None when ungated."""
        for launch in self.all:
            if plan.id in launch.plan_ids:
                return launch.feature
        for launch in self.all:
            if plan.type_class in launch.plan_classes:
                return launch.feature
        return None

    def parameter_features(self, name):
        """The features any one of which makes create/resize parameter `name` exist."""
        return frozenset(launch.feature for launch in self.all if name in launch.parameters)

    def hidden_parameters(self, features):
        """Gated parameters that none of `features` opens: absent from the caller's schema."""
        gated = {p for launch in self.all for p in launch.parameters}
        return tuple(sorted(p for p in gated if not self.parameter_features(p) & features))

    @property
    def capabilities(self):
        return frozenset(launch.capability for launch in self.all if launch.capability)

    def launch_flags(self):
        return frozenset(launch.launch_flag for launch in self.all)


def catalog_problems(launches, snapshot, beta_ids):
    """What the launches name that the database lacks (plans, betas): for `flags check`."""
    problems = []
    for launch in launches:
        for plan_id in sorted(launch.plan_ids - set(snapshot.types)):
            problems.append(f"launch {launch.feature}: plan {plan_id} is not in the catalog")
        if launch.beta and launch.beta not in beta_ids:
            problems.append(f"launch {launch.feature}: beta {launch.beta} does not exist")
    return problems


def _launch(doc, source):
    unknown = set(doc) - KEYS
    missing = {"feature", "early_access_flag", "launch_flag", "plans"} - set(doc)
    if unknown or missing:
        raise DefinitionError(
            f"{source}: unknown keys {sorted(unknown)}, missing {sorted(missing)}"
        )
    plans = doc["plans"]
    if not isinstance(plans, dict) or set(plans) - {"ids", "classes"} or not any(plans.values()):
        raise DefinitionError(f"{source}: plans must name ids and/or classes")
    return Launch(
        feature=doc["feature"], label=doc.get("label", doc["feature"]),
        early_access_flag=doc["early_access_flag"], launch_flag=doc["launch_flag"],
        plan_ids=frozenset(plans.get("ids", ())), plan_classes=frozenset(plans.get("classes", ())),
        parameters=frozenset(doc.get("parameters", ())), capability=doc.get("capability"),
        beta=doc.get("beta"),
    )  # fmt: skip


def validate(launches, flags_doc):
    """Refuse definitions the gates could not honour (raises DefinitionError)."""
    flags = definitions.by_name(flags_doc)
    seen_features, seen_flags, seen_plans = set(), set(), set()
    for launch in launches:
        where = f"launch {launch.feature!r}"
        if launch.feature in seen_features:
            raise DefinitionError(f"{where}: defined twice")
        seen_features.add(launch.feature)
        for name in launch.flags:
            if name not in flags:
                raise DefinitionError(f"{where}: flag {name!r} is not in the flags file")
            if name in seen_flags:
                raise DefinitionError(f"{where}: flag {name!r} belongs to two launches")
            seen_flags.add(name)
        scoped = [s for s in flags[launch.launch_flag]["strategies"]
                  if s["name"] == SCOPED_STRATEGY]  # fmt: skip
        if len(scoped) != 1:
            raise DefinitionError(
                f"{where}: launch flag {launch.launch_flag!r} needs exactly one "
                f"{SCOPED_STRATEGY} strategy (its region and percentage scope)"
            )
        if launch.plan_ids & seen_plans:
            raise DefinitionError(f"{where}: plans {sorted(launch.plan_ids & seen_plans)} "
                                  "belong to another launch")  # fmt: skip
        seen_plans |= launch.plan_ids
    return launches


def load(directory=None, flags_doc=None):
    """Read and validate every launch in `directory` (flags/launches/ by default)."""
    directory = Path(directory or DEFAULT_DIR)
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DefinitionError(f"cannot read launch {path}: {exc}") from None
        if not isinstance(doc, dict):
            raise DefinitionError(f"{path}: a launch is a JSON object")
        found.append(_launch(doc, path))
    flags_doc = flags_doc if flags_doc is not None else definitions.load()
    return Launches(validate(found, flags_doc))


def for_flags_file(flags_file):
    """The launches beside `flags_file` (its folder's launches/), validated against it."""
    doc = definitions.load(flags_file)
    base = Path(flags_file).parent if flags_file else definitions.DEFAULT_FILE.parent
    return load(base / "launches", doc)
