"""Who is calling: bearer tokens, scopes, and the admin/customer split."""

from dataclasses import dataclass
from functools import wraps

from flask import current_app, g, request

from cloudapi.errors import NOT_AUTHORIZED, Unauthorized

ANONYMOUS = None


@dataclass(frozen=True)
class Principal:
    token_id: int
    account_id: int | None
    username: str
    email: str
    tags: tuple
    betas: tuple
    scopes: frozenset
    is_admin: bool
    host: str | None = None

    @property
    def is_customer(self):
        return self.account_id is not None

    def allows(self, area, write):
        if "*" in self.scopes:
            return True
        wanted = {f"{area}:read_write"} if write else {f"{area}:read_write", f"{area}:read_only"}
        return bool(self.scopes & wanted)


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in ("bearer", "token") or not value.strip():
        return None if not header else ""
    return value.strip()


def load_principal():
    """Resolve the request's token, if any, onto g.principal; a bad token is a 401."""
    token = bearer_token()
    g.principal = ANONYMOUS
    if token is None:
        return
    found = current_app.extensions["cloudapi.principals"].lookup(token) if token else None
    if found is None:
        raise Unauthorized()
    g.principal = Principal(**found)


def customer_required(area, write=False):
    """Require a customer token whose scopes cover `area` (read, or write when asked)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = g.get("principal")
            if principal is None or not principal.is_customer:
                raise Unauthorized()
            if area is not None and not principal.allows(area, write):
                raise Unauthorized(NOT_AUTHORIZED)
            return view(*args, **kwargs)

        wrapper.required_scope = (area, write)
        return wrapper

    return decorator


def admin_required(view):
    """Require an admin token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        principal = g.get("principal")
        if principal is None or not principal.is_admin:
            raise Unauthorized()
        return view(*args, **kwargs)

    return wrapper


def host_required(view):
    """Require a host agent's token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        principal = g.get("principal")
        if principal is None or principal.host is None:
            raise Unauthorized()
        return view(*args, **kwargs)

    return wrapper


def current_principal():
    return g.get("principal")
