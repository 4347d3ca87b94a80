"""Flag definitions as code: flags/features.json in Unleash's client-API format."""

import copy
import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "flags" / "features.json"


class DefinitionError(ValueError):
    pass


def load(path=None):
    """Read and sanity-check the flags file."""
    path = Path(path or DEFAULT_FILE)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DefinitionError(f"cannot read flags from {path}: {exc}") from None
    if doc.get("version") != 2 or not isinstance(doc.get("features"), list):
        raise DefinitionError(f"{path} is not an Unleash client-API document (version 2)")
    names = [f.get("name") for f in doc["features"]]
    if len(names) != len(set(names)) or not all(isinstance(n, str) for n in names):
        raise DefinitionError(f"{path}: flag names must be unique strings")
    return doc


@dataclass(frozen=True)
class Setting:
    """A flag's state: on or off, and for a launch flag its scope.

    `regions`: the regions it is on in (None: everywhere); `rollout`: the percentage of
    accounts it is on for (None: as defined).
    """

    enabled: bool
    regions: tuple | None = None
    rollout: int | None = None


def scoped(strategy, regions, rollout):
    """`strategy` with its rollout and its `region IN` constraint set (None: left alone)."""
    out = copy.deepcopy(strategy)
    if rollout is not None:
        out.setdefault("parameters", {})["rollout"] = str(rollout)
    constraints = [c for c in out.get("constraints", []) if c.get("contextName") != "region"]
    if regions is not None:
        constraints.append({"contextName": "region", "operator": "IN",
                            "values": sorted(regions), "caseInsensitive": False,
                            "inverted": False})  # fmt: skip
    out["constraints"] = constraints
    return out


def with_states(doc, states):
    """A copy of `doc` with each named flag's state from `states[name]`: a bool (on/off)
    or a Setting, whose scope applies to the flag's flexibleRollout strategy."""
    out = copy.deepcopy(doc)
    for feature in out["features"]:
        state = states.get(feature["name"])
        if state is None:
            continue
        if isinstance(state, bool):
            state = Setting(state)
        feature["enabled"] = state.enabled
        if state.regions is not None or state.rollout is not None:
            feature["strategies"] = [
                scoped(s, state.regions, state.rollout) if s["name"] == "flexibleRollout" else s
                for s in feature["strategies"]
            ]
    return out


def by_name(doc):
    return {f["name"]: f for f in doc["features"]}
