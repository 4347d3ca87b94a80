"""The Unleash context fields our flags constrain on (each a property of the context).

Flag names live in flags/ only: each launch (flags/launches/) names its two flags.
"""

CONTEXT_FIELDS = ("accountTags", "betas", "region")
