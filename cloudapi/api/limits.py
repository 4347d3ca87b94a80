"""Limits on what one request may carry, checked before anything else looks at it.

Each limit here is stricter than the matching one `cloudapi serve` gives gunicorn
(cli/serve.py), so an over-long URL or over-large headers are answered by us, as JSON in
Linode's error shape (414, 431), instead of by gunicorn's HTML error page:

- the URL (path and query) at most MAX_URL_BYTES, else 414;
- at most MAX_HEADER_COUNT headers of at most MAX_HEADER_BYTES in all, else 431;
- a body at most MAX_CONTENT_LENGTH (Flask's own setting; it also stops a chunked body
  while it is read), else 413; and under the JSON APIs a body must be declared JSON;
- no NUL in the path (a 404: no resource has one) or in a query parameter (a 400 naming
  it), since PostgreSQL cannot compare text with NUL in it and answered with a 500.

Ids in paths use IdConverter (it replaces Flask's `int`): every id is an INTEGER column,
32-bit on PostgreSQL, so a larger id matches no route and is a 404 like any unknown id.
"""

from flask import current_app, request
from werkzeug.routing import IntegerConverter

from cloudapi.api.context import body_bytes, body_too_large, has_body, require_json_content_type
from cloudapi.api.errors import HttpError
from cloudapi.errors import Invalid, NotFound

ID_MAX = 2**31 - 1
JSON_PREFIXES = ("/v4/", "/v4beta/", "/admin/", "/internal/")
URL_TOO_LONG = "Request URL is too long"
HEADERS_TOO_LARGE = "Request headers are too large"
NUL = "Must not contain NUL characters"


def digits_at_most(limit):
    """A regex for the decimal numbers 0..`limit` (no sign, no leading zeros past its width).

    The range is in the regex, not only in to_python, because werkzeug checks the method
    before converting: an id refused by to_python made PUT /instances/2147483648 a 405
    (GET matched), where every out-of-range id must be a 404.
    """
    text = str(limit)
    width = len(text)
    choices = [f"[0-9]{{1,{width - 1}}}"] if width > 1 else []
    for i, digit in enumerate(text):
        if digit != "0":
            choices.append(f"{text[:i]}[0-{int(digit) - 1}][0-9]{{{width - i - 1}}}")
    choices.append(text)
    return "(?:" + "|".join(choices) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>`: 0..2**31 - 1 only, so no id reaches SQL out of range (PostgreSQL)."""

    regex = digits_at_most(ID_MAX)

    def __init__(self, map, fixed_digits=0, min=None, max=ID_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _url_bytes():
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        query = environ.get("QUERY_STRING", "")
        raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        raw += f"?{query}" if query else ""
    return len(raw)  # WSGI strings are latin-1: one character per byte


def _check_size(config):
    if _url_bytes() > config["MAX_URL_BYTES"]:
        raise HttpError(URL_TOO_LONG, 414)
    count = total = 0
    for name, value in request.headers.items():
        count += 1
        total += len(name) + len(value) + 4  # "Name: value\r\n"
    if count > config["MAX_HEADER_COUNT"] or total > config["MAX_HEADER_BYTES"]:
        raise HttpError(HEADERS_TOO_LARGE, 431)
    limit = config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise HttpError(body_too_large(limit), 413)


def _check_text():
    if "\x00" in request.path:
        raise NotFound()
    for name, value in request.args.items(multi=True):
        if "\x00" in name:
            raise Invalid.reason(f"Query parameter names: {NUL}")
        if "\x00" in value:
            raise Invalid.field(name, NUL)


def check_request():
    """The before_request hook: sizes first (cheapest, and no body is read), then text."""
    _check_size(current_app.config)
    _check_text()
    if request.path.startswith(JSON_PREFIXES) and has_body():
        require_json_content_type()
        if request.content_length is None:
            body_bytes()  # chunked: its size is known only once read (at most the limit)


def init_app(app):
    """Install the id converter (before any route is added) and the request checks."""
    app.url_map.converters["int"] = IdConverter
    # "/v4/images//x" would be a 308 redirect with an HTML body; unmerged, it is a JSON 404.
    app.url_map.merge_slashes = False
    # First of the app's hooks: before CORS, rate limits and authentication look at it.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
