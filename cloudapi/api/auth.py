"""Who is calling: bearer tokens, scopes, and the admin/customer split."""

import hmac
from functools import wraps

from flask import current_app, g, request

from cloudapi.api.errors import NOT_AUTHORIZED, Unauthorized
from cloudapi.errors import Forbidden
from cloudapi.principal import Principal
from cloudapi.services import console_sessions

ANONYMOUS = None
# The console's cookie: an opaque session id (see cloudapi/services/console_sessions.py).
CONSOLE_COOKIE = "cloudapi_console"


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in ("bearer", "token") or not value.strip():
        return None if not header else ""
    return value.strip()


def load_principal():
    """Resolve the request's token, if any, onto g.principal; a bad token is a 401.

    A token that resolves to no one is marked on `g.auth_failed`: the edge counts those per
    client address, so guessing tokens is rate limited (cloudapi/api/edge.py).
    """
    token = bearer_token()
    g.principal = ANONYMOUS
    if token is None:
        return
    found = current_app.extensions["cloudapi.principals"].lookup(token) if token else None
    if found is None:
        g.auth_failed = True
        raise Unauthorized()
    g.principal = Principal(**found)


def console_session():
    """The live console session named by this request's cookie, or None.

    Read from the database on every request, so a logout or a revoked admin token ends
    the session on every worker at once.
    """
    session_id = request.cookies.get(CONSOLE_COOKIE)
    if not session_id:
        return None
    return console_sessions.lookup(current_app.extensions["cloudapi.db"], session_id)


def load_admin_principal():
    """Admin endpoints: a bearer token, or the console's session cookie plus its CSRF token.

    The console (a browser) exchanges an admin token for a session once, so the token
    never sits in a URL or in page storage. Requests that change something must echo the
    session's CSRF token in X-CSRF-Token.
    """
    if request.headers.get("Authorization"):
        load_principal()
        return
    g.principal = ANONYMOUS
    live = console_session()
    if live is None:
        return
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), live.csrf_token.encode()):
            raise Forbidden.reason("CSRF token missing or wrong")
    g.principal = Principal(**live.principal)


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


def _requiring(allowed):
    """A view decorator: 401 unless the caller is a principal that `allowed` accepts."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = g.get("principal")
            if principal is None or not allowed(principal):
                raise Unauthorized()
            return view(*args, **kwargs)

        return wrapper

    return decorator


admin_required = _requiring(lambda principal: principal.is_admin)  # an admin token
host_required = _requiring(lambda principal: principal.host is not None)  # a host agent's
