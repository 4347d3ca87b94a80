"""Per-account features: what a caller may see and use, and where.

The features come from the feature flags (cloudapi/flagging), named by the launches in
flags/launches/; an app built without flags (FLAGS_ENABLED off) gets FailClosed: every
gated feature is off for everyone. A launch may be on in some regions only, so a caller's
features are a `Features`: as a set, the features on for them somewhere (what decides
whether a plan or parameter exists at all); `in_region(r)` narrows to region r (what
decides whether it can be deployed there).
"""


class Features(frozenset):
    """The features on for a caller anywhere; `regional` keeps those on in some regions only.

    A plain frozenset of features (admins' tools, tests) counts as on everywhere.
    """

    def __new__(cls, everywhere=(), regional=None):
        regional = {f: frozenset(r) for f, r in (regional or {}).items() if r}
        made = super().__new__(cls, set(everywhere) | set(regional))
        made.everywhere = frozenset(everywhere)
        made.regional = regional
        return made

    def in_region(self, region_id):
        return self.everywhere | {f for f, regions in self.regional.items() if region_id in regions}


def in_region(features, region_id):
    """The features of `features` on in `region_id` (a plain set: all of them)."""
    narrow = getattr(features, "in_region", None)
    return narrow(region_id) if narrow is not None else frozenset(features)


class FailClosed:
    """The feature source used when nothing else is configured: nothing is on."""

    def features_for(self, principal):
        return Features()


def init_app(app):
    app.extensions.setdefault("cloudapi.features", FailClosed())
