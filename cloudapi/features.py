"""Per-account features: what a caller may see and use.

The features come from the feature flags (cloudapi/flagging); an app built without them
(FLAGS_ENABLED off) gets FailClosed: every gated feature is off for everyone.
"""

GPU_LINODES = "gpu-linodes"

# Capability strings (regions, account) that only show with a feature.
GATED_CAPABILITIES = {"GPU Linodes": GPU_LINODES}


class FailClosed:
    """The feature source used when nothing else is configured: nothing is on."""

    def features_for(self, principal):
        return frozenset()


def visible_capabilities(capabilities, features):
    return [c for c in capabilities if GATED_CAPABILITIES.get(c) in (None, *features)]


def init_app(app):
    app.extensions.setdefault("cloudapi.features", FailClosed())
