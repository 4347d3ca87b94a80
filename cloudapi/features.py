"""Per-account features: what a caller may see and use.

Until feature flags are wired in, every gated feature is off for everyone (fail closed).
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
