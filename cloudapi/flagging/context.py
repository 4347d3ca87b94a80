"""The Unleash context for a caller, built from what the request loaded from the database."""


def delimited(values):
    """`,a,b,` so that a constraint on `,employee,` never matches `ex-employee`."""
    return "," + ",".join(sorted(values)) + "," if values else ""


def context_for(principal, region=None):
    """Account id as userId; tags and beta enrollments as delimited properties.

    `region` (a region id) is set only when a question is about one region: a launch
    scoped to regions constrains on it, so without it only unscoped strategies match.
    """
    if principal is None or principal.account_id is None:
        context = {"properties": {"accountTags": "", "betas": ""}}
    else:
        context = {
            "userId": str(principal.account_id),
            "properties": {
                "accountTags": delimited(principal.tags),
                "betas": delimited(principal.betas),
            },
        }
    if region is not None:
        context["properties"]["region"] = region
    return context
