"""What may arrive on the wire: JSON of bounded depth, and text a database can store.

Two kinds of client input used to reach code that cannot take them, and so became 500s:

- JSON nested ~1,000 deep makes `json.loads` (and anything that walks the result
  recursively) raise RecursionError. `loads` counts the nesting first, with a regex
  that skips over strings, and refuses anything deeper than `max_depth` before the
  parser sees it; RecursionError is caught as well, so it never escapes.
- NUL characters (PostgreSQL refuses them in text) and lone surrogates ("\\ud800" in
  JSON: not encodable as UTF-8, so neither driver can send them). Raw bytes that are not
  UTF-8 are decoded with surrogateescape, so they too become lone surrogates and are
  refused with the field they are in named, rather than as "not valid JSON".

`text_problems` finds such strings anywhere in a parsed document (values and keys);
`context.body()`, every RequestSchema (cloudapi/schemas/__init__.py) and the X-Filter
parser all use it, so the rule and its wording are the same everywhere.
"""

import json
import math
import re

# Linode's bodies nest 4 deep at most (interfaces[0].ipv4.vpc); free-form ones (profile
# preferences) are held to 32 levels by their own schema. 64 is far above both and far
# below the ~1,000 levels at which Python's recursion limit is reached.
MAX_DEPTH = 64
MAX_REPORTED = 50  # problems listed in one answer: enough to fix a body, never a huge reply

NUL = "Must not contain NUL characters"
NOT_UNICODE = "Must be valid Unicode text (UTF-8, no lone surrogates)"
BAD_KEY = "Field names must be valid Unicode text without NUL characters"

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
# A JSON string (skipped whole, possessively, so no backtracking) or a bracket.
_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.DOTALL)


_BAD_KEY = object()  # stands, in text_problems' walk, for a key that is not storable


class BadJson(ValueError):
    """The text is not JSON we accept: malformed, too deep, or with NaN/Infinity."""


class TooDeep(BadJson):
    """Valid or not, the text nests deeper than allowed; it was not parsed."""


def _no_constant(name):
    raise BadJson(f"{name} is not JSON")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise BadJson("number out of range")
    return value


def nesting_depth_exceeds(text, max_depth):
    """Whether `text` opens more than `max_depth` brackets at once (strings skipped)."""
    depth = 0
    for token in _TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


def loads(raw, max_depth=MAX_DEPTH):
    """Parse `raw` (bytes or str) as strict JSON no deeper than `max_depth`, or raise BadJson."""
    text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
    if nesting_depth_exceeds(text, max_depth):
        raise TooDeep("nested too deeply")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:  # BadJson is a ValueError too
        raise BadJson(str(exc)) from None


def text_problem(value):
    """Why the string `value` cannot be stored as text, or None when it can."""
    found = _BAD_TEXT.search(value)
    if found is None:
        return None
    return NUL if found.group() == "\x00" else NOT_UNICODE


def field_name(segments):
    """Linode's name for a nested field: ("interfaces", 0, "label") -> interfaces[0].label."""
    name = ""
    for part in segments:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name = f"{name}.{part}" if name else part
    return name


def text_problems(doc, limit=MAX_REPORTED):
    """[(segments, reason)] for each string in `doc` that is not clean text, in order.

    A bad key is reported at the object holding it (its own name is not echoed back).
    Iterative, so any depth is safe.
    """
    found = []
    stack = [((), doc)]
    while stack and len(found) < limit:
        path, node = stack.pop()
        if isinstance(node, str):
            reason = text_problem(node)
            if reason:
                found.append((path, reason))
        elif node is _BAD_KEY:
            found.append((path, BAD_KEY))
        elif isinstance(node, dict):
            children = [
                (path, _BAD_KEY) if isinstance(key, str) and text_problem(key) else
                ((*path, key), value)
                for key, value in node.items()
            ]  # fmt: skip
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([((*path, i), v) for i, v in enumerate(node)]))
    return found


def as_errors(problems):
    """Linode's error list for `text_problems` output."""
    return [
        {"field": field_name(path), "reason": reason} if path else {"reason": reason}
        for path, reason in problems
    ]
