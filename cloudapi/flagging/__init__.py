"""Per-account feature flags on Unleash."""
