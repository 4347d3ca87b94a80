"""The flags the code uses, and which flags turn each feature on.

This module is the one list of flag names; a test checks it against flags/.
"""

from enum import StrEnum

from cloudapi.features import GPU_LINODES


class Flag(StrEnum):
    GPU_EARLY_ACCESS = "gpu-linodes-early-access"
    GPU_LAUNCH = "gpu-linodes-launch"


# A feature is on for a caller when any of its flags is on for them. The launch flag comes
# first: once launched, the early-access flag need not be evaluated.
FEATURE_FLAGS = {GPU_LINODES: (Flag.GPU_LAUNCH, Flag.GPU_EARLY_ACCESS)}

# Context fields our flags constrain on (each is a property of the Unleash context).
CONTEXT_FIELDS = ("accountTags", "betas")
