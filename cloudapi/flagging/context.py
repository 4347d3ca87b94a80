"""The Unleash context for a caller, built from what the request loaded from the database."""


def delimited(values):
    """`,a,b,` so that a constraint on `,employee,` never matches `ex-employee`."""
    return "," + ",".join(sorted(values)) + "," if values else ""


def context_for(principal):
    """Account id as userId; tags and beta enrollments as delimited properties."""
    if principal is None or principal.account_id is None:
        return {"properties": {"accountTags": "", "betas": ""}}
    return {
        "userId": str(principal.account_id),
        "properties": {
            "accountTags": delimited(principal.tags),
            "betas": delimited(principal.betas),
        },
    }
