"""The caller's profile: personal access tokens, SSH keys, preferences and grants.

Scopes follow Linode: tokens, SSH keys and preferences need `account:read_only` to read
and `account:read_write` to change; grants need only a customer token.
"""

from flask import Blueprint, current_app, request

from cloudapi.api import principals
from cloudapi.api.auth import customer_required
from cloudapi.api.context import body, database, owned, principal
from cloudapi.api.pagination import listed
from cloudapi.api.render import ts
from cloudapi.errors import Invalid
from cloudapi.schemas.profile import PREFERENCES_MAX_CHARS
from cloudapi.services import preferences, profile_tokens, sshkeys

bp = Blueprint("profile", __name__)
# Bytes a preferences body may have before parsing: JSON escapes make 65,535 characters
# up to six times as many bytes; anything longer cannot fit and is refused unread.
PREFERENCES_MAX_BYTES = 6 * PREFERENCES_MAX_CHARS
NEVER_YEARS = 200


def _never(created):
    """Linode shows a token that never expires as expiring 200 years after its creation
    (Cloud Manager reads anything past 100 years as "never")."""
    try:
        return created.replace(year=created.year + NEVER_YEARS)
    except ValueError:  # 29 February, in a year that has none
        return created.replace(year=created.year + NEVER_YEARS, day=28)


def render_token(t, plaintext=None):
    """Linode's token shape; `token` is the whole token only in the create response."""
    return {
        "id": t.id,
        "label": t.label or f"token-{t.id}",  # Linode's labels are never empty
        "scopes": t.scopes,
        "created": ts(t.created),
        "expiry": ts(t.expiry or _never(t.created)),
        "token": plaintext if plaintext is not None else t.prefix,
    }


def render_key(k):
    return {"id": k.id, "label": k.label, "ssh_key": k.ssh_key, "created": ts(k.created)}


@bp.get("/profile/tokens")
@customer_required("account")
def list_tokens():
    return listed(profile_tokens.listing, render_token, filterable=profile_tokens.FILTERABLE)


@bp.post("/profile/tokens")
@customer_required("account", write=True)
def create_token():
    row, plaintext = profile_tokens.create(database(), principal(), body(optional=True))
    return render_token(row, plaintext)


@bp.get("/profile/tokens/<int:token_id>")
@customer_required("account")
def get_token(token_id):
    return owned(profile_tokens.get, token_id, render=render_token)


@bp.put("/profile/tokens/<int:token_id>")
@customer_required("account", write=True)
def rename_token(token_id):
    account_id = principal().account_id
    return render_token(profile_tokens.rename(database(), account_id, token_id, body()))


@bp.delete("/profile/tokens/<int:token_id>")
@customer_required("account", write=True)
def revoke_token(token_id):
    account_id = principal().account_id
    profile_tokens.revoke(database(), account_id, token_id)
    principals.forget_account(current_app, account_id)  # a 401 on the very next request
    return {}


@bp.get("/profile/sshkeys")
@customer_required("account")
def list_keys():
    return listed(sshkeys.listing, render_key)


@bp.post("/profile/sshkeys")
@customer_required("account", write=True)
def create_key():
    return render_key(sshkeys.create(database(), principal().account_id, body()))


@bp.get("/profile/sshkeys/<int:key_id>")
@customer_required("account")
def get_key(key_id):
    return owned(sshkeys.get, key_id, render=render_key)


@bp.put("/profile/sshkeys/<int:key_id>")
@customer_required("account", write=True)
def update_key(key_id):
    return render_key(sshkeys.update(database(), principal().account_id, key_id, body()))


@bp.delete("/profile/sshkeys/<int:key_id>")
@customer_required("account", write=True)
def delete_key(key_id):
    sshkeys.delete(database(), principal().account_id, key_id)
    return {}


@bp.get("/profile/preferences")
@customer_required("account")
def get_preferences():
    return owned(preferences.get)


@bp.put("/profile/preferences")
@customer_required("account", write=True)
def put_preferences():
    if len(request.get_data(cache=True)) > PREFERENCES_MAX_BYTES:
        raise Invalid.reason(f"Total length cannot exceed {PREFERENCES_MAX_CHARS:,} characters")
    return preferences.replace(database(), principal().account_id, body())


@bp.get("/profile/grants")
@customer_required(None)
def get_grants():
    """Every user here is unrestricted, and Linode answers 204 No Content for those."""
    return current_app.response_class(status=204)
