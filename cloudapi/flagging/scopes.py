"""Which regions a flag's strategies name: the regions worth asking the SDK about.

A launch in some regions only is a strategy constrained `region IN [...]`. The SDK answers
one context at a time, so to learn where a flag is on for a caller we ask it once without
a region (what holds everywhere) and once per region its constraints name; asking about
every region of the catalog on every request would cost tens of evaluations for nothing.
A region constraint with any other operator (NOT_IN, STR_*) cannot be read that way: such
a flag is marked EVERY_REGION and asked about each region in turn.
"""

import json

EVERY_REGION = "*"


def region_scopes(features_json):
    """{flag name: frozenset of region ids, or EVERY_REGION} for flags that constrain region."""
    try:
        doc = json.loads(features_json) if features_json else {}
    except ValueError:
        return {}
    scopes = {}
    for feature in doc.get("features", []):
        named, every = set(), False
        for strategy in feature.get("strategies", []) or []:
            for constraint in strategy.get("constraints", []) or []:
                if constraint.get("contextName") != "region":
                    continue
                if constraint.get("operator") == "IN" and not constraint.get("inverted"):
                    named.update(constraint.get("values", []))
                else:
                    every = True
        if every:
            scopes[feature["name"]] = EVERY_REGION
        elif named:
            scopes[feature["name"]] = frozenset(named)
    return scopes
