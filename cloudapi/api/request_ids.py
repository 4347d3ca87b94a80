"""Every request's id: the client's `X-Request-Id` when it is valid, else a new one.

The id is bound for the request (cloudapi/tracing.py), so the jobs the request writes
carry it and every line the app logs meanwhile names it, with the route and, once the
token is loaded, the account; it is echoed on every response, errors included. A client
id that is too long or holds anything but [A-Za-z0-9._-] is replaced, not refused: a
trace id must never be the reason a request fails, nor a way into a log or a header.

What the access log needs that gunicorn cannot know (the id, the route, the account) is
left in the WSGI environ under `ENVIRON`, which gunicorn hands its access logger
(api/access_log.py): one line per request, written once the response has gone.
"""

from flask import g, has_request_context, request

from cloudapi import tracing

ENVIRON = "cloudapi.trace"


def _begin(_endpoint=None, _values=None):
    """Before every before_request hook (the request checks, CORS, the limiter, the token
    all may refuse), as a URL value preprocessor: Flask runs those first, routed or not."""
    request_id = tracing.accept(request.headers.get(tracing.HEADER))
    route = request.url_rule.rule if request.url_rule is not None else None
    g.request_id = request_id
    g.trace_token = tracing.bind(request_id=request_id, route=route)
    request.environ[ENVIRON] = {"request_id": request_id, "route": route}


def _finish(response):
    request_id = g.get("request_id") or tracing.accept(None)
    response.headers[tracing.HEADER] = request_id
    fields = request.environ.setdefault(ENVIRON, {"request_id": request_id})
    fields.update(account_fields())
    return response


def _end(_exc):
    token = g.pop("trace_token", None)
    if token is not None:
        tracing.reset(token)


def account_fields():
    """The caller's account, for log lines (TraceFilter's `more`); {} outside a request
    or before the token is loaded."""
    if not has_request_context():
        return {}
    caller = g.get("principal")
    account_id = getattr(caller, "account_id", None)
    return {} if account_id is None else {"account_id": account_id}


def init_app(app):
    app.url_value_preprocessor(_begin)
    app.after_request(_finish)
    app.teardown_request(_end)
