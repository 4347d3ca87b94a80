"""Flag definitions as code: flags/features.json in Unleash's client-API format."""

import copy
import json
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


def with_states(doc, states):
    """A copy of `doc` with each named flag's `enabled` replaced by `states[name]`."""
    out = copy.deepcopy(doc)
    for feature in out["features"]:
        if feature["name"] in states:
            feature["enabled"] = states[feature["name"]]
    return out


def by_name(doc):
    return {f["name"]: f for f in doc["features"]}
