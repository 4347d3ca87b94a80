"""What a use case refuses, in plain exceptions that know nothing of HTTP or click.

Every error carries Linode's list of reasons, `[{"reason", "field"?}]`, so the HTTP funnel
(`cloudapi.api.errors`) can send it as Linode's body and the CLI (`cloudapi.cli.errors`)
can print it; each of those two translates the classes below in exactly one place. The
class says what kind of refusal it is, which is all either translation needs:

- `Invalid`: the request is wrong (a field's value, or a combination of fields);
- `NotFound`: the thing asked for does not exist for this caller. Linode's 404 never says
  more than "Not found" (a hidden plan must read like a missing one), so the reasons
  given here are for operators only: the CLI prints them, the HTTP funnel does not;
- `Forbidden`: the caller may not do this to a thing it can see;
- `Conflict`: the request clashes with what exists (a taken label, email or hostname);
- `Busy`: refused for now, and the same request may succeed later (the instance is busy,
  capacity is being taken by another request);
- `Unavailable`: a service this one depends on is not set up or cannot answer;
- `UpstreamFailed`: a service this one depends on answered with an error.
"""


class CloudError(Exception):
    """A refusal with Linode's list of reasons; subclasses say which kind it is."""

    default_reason = "Request refused"

    def __init__(self, errors=None):
        if errors is None:
            errors = [{"reason": self.default_reason}]
        elif isinstance(errors, str):
            errors = [{"reason": errors}]
        super().__init__(errors)
        self.errors = errors

    @classmethod
    def field(cls, field, reason):
        """A refusal about one request field."""
        return cls([{"field": field, "reason": reason}])

    @classmethod
    def reason(cls, reason):
        """A refusal that is not about one field."""
        return cls([{"reason": reason}])

    def __str__(self):
        return "; ".join(
            f"{e['field']}: {e['reason']}" if e.get("field") else e["reason"] for e in self.errors
        )


class Invalid(CloudError):
    """The request is wrong: fix it before sending it again."""


class NotFound(CloudError):
    """Nothing by that id exists for this caller."""

    default_reason = "Not found"


class Forbidden(CloudError):
    """The caller may not do this to something it can see."""


class Conflict(CloudError):
    """The request clashes with what already exists."""


class Busy(CloudError):
    """Refused for now; the same request may succeed in a moment."""


class Unavailable(CloudError):
    """A service this one needs is not configured or cannot be reached."""


class UpstreamFailed(CloudError):
    """A service this one needs answered with an error."""
