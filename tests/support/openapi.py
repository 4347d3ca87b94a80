"""Check API responses against openapi.yaml.

`check(method, path, response)` is called on every Flask test-client response
(tests/conftest.py). For a path under /v4 or /admin it:

1. finds the path template that matches (`{param}` becomes one segment; integer
   params match digits only, params with `x-matches-slashes` match across `/`);
   a path no template matches may only answer the spec's
   `x-undocumented-path-response` (404);
2. finds the operation for the method; a method the path does not list may only
   answer `x-undocumented-method-response` (405);
3. finds the response for the status: the exact code, else `default`, which covers
   error statuses (>= 400) only, so every success status must be listed;
4. checks the body is JSON and validates it against the response schema with
   openapi-schema-validator, `$ref`s resolved against the whole spec.

Anything else raises AssertionError. The spec is loaded once per process and one
validator is compiled per response schema.
"""

import functools
import json
import re
from pathlib import Path

import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC_URI = "urn:cloudapi:openapi.yaml"
CHECKED_PREFIXES = ("/v4", "/admin")
METHODS = ("get", "put", "post", "delete", "patch")
SKIPPED_METHODS = ("HEAD", "OPTIONS")  # answered by Flask itself, with no JSON body
JSON_MIMETYPE = "application/json"
MAX_REPORTED_ERRORS = 5


@functools.cache
def spec():
    """The parsed openapi.yaml (loaded once per process)."""
    with open(SPEC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


@functools.cache
def _registry():
    return Registry().with_resource(SPEC_URI, Resource(contents=spec(), specification=DRAFT4))


def _escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens):
    return "/" + "/".join(_escape(str(t)) for t in tokens)


def node_at(pointer):
    node = spec()
    for token in pointer.lstrip("/").split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _deref(pointer):
    """Follow `$ref`s from the node at `pointer`; return (pointer, node) of the target."""
    node = node_at(pointer)
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"openapi.yaml: only local $refs are supported: {ref}"
        pointer = ref[1:]
        node = node_at(pointer)
    return pointer, node


# -- paths -------------------------------------------------------------------------


def _param_regex(param):
    schema = param.get("schema", {})
    if param.get("x-matches-slashes"):
        return ".+"
    if schema.get("type") == "integer":
        return "[0-9]+"
    if "enum" in schema:
        return "(?:" + "|".join(re.escape(str(v)) for v in schema["enum"]) + ")"
    return "[^/]+"


def path_params(template):
    """The path parameters of a path item, by name (operation-level ones are not used)."""
    pointer = _pointer("paths", template)
    params = {}
    for i, _ in enumerate(node_at(pointer).get("parameters", [])):
        _, param = _deref(f"{pointer}/parameters/{i}")
        if param["in"] == "path":
            params[param["name"]] = param
    return params


def _template_regex(template):
    params = path_params(template)
    parts = re.split(r"\{([^}]+)\}", template)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(re.escape(part))
        else:
            assert part in params, f"openapi.yaml: {template}: path parameter {part} not declared"
            out.append(f"(?:{_param_regex(params[part])})")
    return re.compile("".join(out) + r"\Z")


@functools.cache
def _templates():
    """(regex, template) pairs, most literal text first so fixed segments win."""
    pairs = [(_template_regex(t), t) for t in spec()["paths"]]
    return sorted(pairs, key=lambda p: -len(re.sub(r"\{[^}]+\}", "", p[1])))


@functools.lru_cache(maxsize=4096)
def match_path(path):
    """Return the path template in openapi.yaml that `path` matches, or None."""
    for regex, template in _templates():
        if regex.match(path):
            return template
    return None


# -- responses ---------------------------------------------------------------------


@functools.cache
def _response_validator(response_pointer):
    """A compiled validator for the JSON body of the response at `response_pointer`."""
    pointer, response = _deref(response_pointer)
    content = response.get("content", {})
    assert JSON_MIMETYPE in content, f"openapi.yaml: {pointer} has no {JSON_MIMETYPE} content"
    schema_pointer = f"{pointer}/content/{_escape(JSON_MIMETYPE)}/schema"
    return OAS30Validator(
        {"$ref": f"{SPEC_URI}#{schema_pointer}"},
        registry=_registry(),
        format_checker=OAS30Validator.FORMAT_CHECKER,
    )


@functools.lru_cache(maxsize=1024)
def _response_pointer(template, method, status):
    """Where the response for (template, method, status) is, or an AssertionError message."""
    operation = method.lower()
    if template is None:
        where = "x-undocumented-path-response"
        allowed = 404
    elif operation not in METHODS or operation not in node_at(_pointer("paths", template)):
        where = "x-undocumented-method-response"
        allowed = 405
    else:
        responses = _pointer("paths", template, operation, "responses")
        documented = node_at(responses)
        if str(status) in documented:
            return f"{responses}/{status}", None
        if "default" in documented and status >= 400:
            return responses + "/default", None
        return None, (
            f"undocumented status {status} for {method} {template} "
            f"(documented: {', '.join(documented)})"
        )
    if status != allowed:
        what = "path" if template is None else f"method {method} for {template}"
        return None, f"undocumented {what} answered {status} (only {allowed} is allowed there)"
    return "/" + _escape(where), None


def _describe(error):
    location = "".join(f"[{p!r}]" for p in error.absolute_path) or "(body)"
    return f"  at {location}: {error.message}"


def check(method, path, response):
    """Assert that `response` to `method path` is what openapi.yaml documents."""
    if method.upper() in SKIPPED_METHODS:
        return
    if not any(path == p or path.startswith(p + "/") for p in CHECKED_PREFIXES):
        return
    status = response.status_code
    where = f"{method} {path} -> {status}"
    pointer, problem = _response_pointer(match_path(path), method.upper(), status)
    if problem:
        raise AssertionError(f"openapi: {where}: {problem}")
    if response.mimetype != JSON_MIMETYPE:
        raise AssertionError(f"openapi: {where}: Content-Type is {response.mimetype!r}, not JSON")
    raw = response.get_data()
    try:
        body = json.loads(raw)
    except ValueError:
        raise AssertionError(f"openapi: {where}: body is not JSON: {raw[:200]!r}") from None
    errors = sorted(_response_validator(pointer).iter_errors(body), key=lambda e: e.json_path)
    if errors:
        lines = [_describe(e) for e in errors[:MAX_REPORTED_ERRORS]]
        if len(errors) > MAX_REPORTED_ERRORS:
            lines.append(f"  ... and {len(errors) - MAX_REPORTED_ERRORS} more")
        raise AssertionError(
            f"openapi: {where}: body does not match {pointer}:\n" + "\n".join(lines)
        )
