"""Bodies whose fields are also checked together, against the catalog and the account.

Linode answers every problem of a body in one 400, field by field. A schema here yields
its (field, reason) pairs from `problems(data, sent)`, where `sent` is the set of keys the
client sent (a key sent but refused has its own error already); the base turns them into
marshmallow's one ValidationError. `catalog_refs` is what a create and a clone check of
the plan and the region, the feature gate included (a hidden plan reads as unknown).
"""

from marshmallow import ValidationError, validates_schema

from cloudapi.errors import Invalid
from cloudapi.schemas import RequestSchema

TYPE_NOT_FOUND = "A valid plan type by that ID was not found"
REGION_NOT_FOUND = "region is not valid"
NO_GPU_HERE = "GPU Linodes are not available in this region"
# Linode's text (linode-cli's suite asserts it against Linode's API); Cloud Manager shows
# its own, "You must provide a root password when deploying from an image.", client-side.
NEEDS_CREDENTIALS = "Must provide valid root_pass, authorized_keys, or authorized_users"


class CrossFieldSchema(RequestSchema):
    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _cross_field(self, data, original, **kwargs):
        sent = set(original) if isinstance(original, dict) else set()
        errors = {}
        for field, reason in self.problems(self.relevant(data, original), sent):
            errors.setdefault(field, []).append(reason)
        if errors:
            raise ValidationError(errors)

    def relevant(self, data, original):
        """The loaded data the checks see (a subclass may add what a refused field meant)."""
        return data

    def problems(self, data, sent):
        return ()


def catalog_refs(catalog, features, data):
    """Yield the plan's and the region's problems; return (plan, region) as found."""
    plan = region = None
    if "type" in data:
        plan = catalog.visible_type(data["type"], features)
        if plan is None:
            yield "type", TYPE_NOT_FOUND
    if "region" in data:
        region = catalog.regions.get(data["region"])
        if region is None:
            yield "region", REGION_NOT_FOUND
    if plan and region and plan.gpus and not catalog.offers(plan, region.id, features):
        yield "region", NO_GPU_HERE
    return plan, region


def deploy_credentials(data, sent, user_keys):
    """Deploying an image needs a root password, keys or users; the users must exist.

    `user_keys(usernames)` resolves `authorized_users` (services/sshkeys.py) and raises
    Invalid for an unknown one, which joins the body's other problems here.
    """
    credentials = ("root_pass", "authorized_keys", "authorized_users")
    if not any(data.get(k) for k in credentials) and "root_pass" not in sent:
        yield "root_pass", NEEDS_CREDENTIALS
    try:
        user_keys(data.get("authorized_users") or [])
    except Invalid as refused:
        yield from ((e.get("field"), e["reason"]) for e in refused.errors)
