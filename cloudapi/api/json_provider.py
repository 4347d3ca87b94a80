"""Responses encoded with orjson, byte for byte what Flask's stdlib provider writes.

Encoding a page of 100 Linodes with `json.dumps` is a good part of a list request; orjson
does it several times faster. Linode's clients parse what we send, and tests compare
bodies byte for byte, so orjson's answer is used only where it is provably the same as
the stdlib encoder's with Flask's settings (compact separators, `ensure_ascii`, keys in
insertion order, a trailing newline, Flask's `default` for dates, UUIDs, Decimals,
dataclasses and `__html__`). Everything else is handed to the stdlib provider:

* output with a non-ASCII byte (the stdlib escapes it as \\uXXXX) or DEL (escaped too);
* a float the two may format differently: the stdlib writes an exponent below 1e-4 and
  from 1e16 (`1e-05`, `1e+16`), orjson `0.00001` and `1e16`; so any `0.0000`, and any
  exponent (`e`, digits, then what ends a number: `,` `]` `}` or the end) sends the
  payload back. Text that merely looks like one costs only the slower path; the check is
  two scans of the bytes, no parsing (a full number-token regex cost more than orjson).
* what orjson refuses: integers beyond 64 bits, non-string keys, subclasses of
  str/int/dict/list (passed to `default`, which refuses them), deep nesting.

Two differences remain, both where the stdlib answers no JSON at all: NaN and infinities
become `null` (the stdlib writes `NaN`, which no JSON parser, Terraform's included,
accepts), and a plain Enum member its value (the stdlib raises: a 500). Debug mode's
indented output and a provider with `sort_keys` on are the stdlib's.
"""

import re

import orjson
from flask.json.provider import DefaultJSONProvider

_OPTIONS = (
    orjson.OPT_APPEND_NEWLINE
    | orjson.OPT_PASSTHROUGH_DATETIME  # Flask's default: an HTTP date, not ISO 8601
    | orjson.OPT_PASSTHROUGH_DATACLASS  # Flask's default: dataclasses.asdict
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# The end of an exponent as orjson writes one (at most 3 digits: 1e308, 5e-324).
_EXPONENT = re.compile(rb"e-?[0-9]{1,3}[,\]}\n]")


def encode(obj, default):
    """orjson's bytes for `obj` when they equal the stdlib's, else None."""
    try:
        out = orjson.dumps(obj, default=default, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one
        return None
    if not out.isascii() or b"\x7f" in out or b"0.0000" in out or _EXPONENT.search(out):
        return None
    return out


class FastJSONProvider(DefaultJSONProvider):
    """Flask's provider with an orjson fast path in `response` (what views returning a
    dict or list, and jsonify, go through)."""

    sort_keys = False

    def response(self, *args, **kwargs):
        compact = not ((self.compact is None and self._app.debug) or self.compact is False)
        if compact and not self.sort_keys and self.ensure_ascii:
            body = encode(self._prepare_response_obj(args, kwargs), self.default)
            if body is not None:
                return self._app.response_class(body, mimetype=self.mimetype)
        return super().response(*args, **kwargs)
