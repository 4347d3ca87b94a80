"""Where each launch is on for one caller: the SDK asked once per region that matters.

Shared by the app (FeatureFlags) and `cloudapi flags plan`, which asks the same question
of a flags document with a proposed flip applied.
"""

from cloudapi.features import Features
from cloudapi.flagging.context import context_for
from cloudapi.flagging.scopes import EVERY_REGION, region_scopes

# Unleash's "default" stickiness hashes userId, else sessionId, else a random number: an
# anonymous caller (no account) would flicker in and out of a partial rollout from one
# request to the next. They all share this one session id instead, so a rollout treats
# them as one steady caller (at 100% they are always in).
ANONYMOUS_SESSION = "anonymous"


def _context(principal, region=None):
    context = context_for(principal, region)
    if "userId" not in context:
        context["sessionId"] = ANONYMOUS_SESSION
    return context


class LaunchEvaluator:
    """`evaluate(principal)`: the caller's Features, from an Unleash SDK client.

    `document()` returns the flags JSON the SDK holds now (its region constraints say
    which regions to ask about); `region_ids()` every region, for flags whose region
    constraints cannot be read that way.
    """

    def __init__(self, sdk, document, launches, region_ids=lambda: ()):
        self.sdk, self._document = sdk, document
        self.launches, self._region_ids = launches, region_ids
        self._scopes = (None, {})

    def evaluate(self, principal):
        """The caller's features, evaluated now by the SDK (no memo): each launch's feature
        everywhere when one of its flags is on without a region, else in the regions where
        one is on (asked only about the regions its flags' constraints name)."""
        context = _context(principal)
        scopes = self._current_scopes()
        everywhere, regional = set(), {}
        for launch in self.launches:
            unscoped = not any(scopes.get(f) == EVERY_REGION for f in launch.flags)
            if unscoped and any(self.sdk.is_enabled(f, context) for f in launch.flags):
                everywhere.add(launch.feature)
                continue
            on = {region for region in self._candidate_regions(launch, scopes)
                  if any(self.sdk.is_enabled(f, _context(principal, region))
                         for f in launch.flags)}  # fmt: skip
            if on:
                regional[launch.feature] = on
        return Features(everywhere, regional)

    def _candidate_regions(self, launch, scopes):
        named = set()
        for flag in launch.flags:
            scope = scopes.get(flag, frozenset())
            if scope == EVERY_REGION:
                return set(self._region_ids())
            named |= scope
        return named

    def _current_scopes(self):
        """The region scopes of the flags the SDK holds now, re-read when they change."""
        text = self._document()
        seen, scopes = self._scopes
        if text is not seen:
            scopes = region_scopes(text)
            self._scopes = (text, scopes)
        return scopes
