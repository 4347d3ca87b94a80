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

`check_linode` does the same against Linode's official spec, leniently: paths,
methods and statuses Linode does not document (our admin API, our extensions) are
not its business, but every body it does document must match Linode's schema.
"""

import copy
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
# Linode's official spec (4.189.0): every response it documents must match it too.
LINODE_SPEC_PATH = SPEC_PATH.parents[1] / "shared" / "docs" / "reference" / "linode-openapi.yaml"
LINODE_SPEC_URI = "urn:linode:openapi.yaml"
CHECKED_PREFIXES = ("/v4", "/admin", "/healthz", "/readyz", "/metrics")
METHODS = ("get", "put", "post", "delete", "patch")
SKIPPED_METHODS = ("HEAD", "OPTIONS")  # answered by Flask itself, with no JSON body
JSON_MIMETYPE = "application/json"
MAX_REPORTED_ERRORS = 5


class Spec:
    """One OpenAPI document and the checks against it (ours, or Linode's)."""

    def __init__(self, path, uri, prefixes=CHECKED_PREFIXES, strict=True, relax=None,
                 aliases=None):  # fmt: skip
        self.path, self.uri, self.prefixes, self.strict = Path(path), uri, prefixes, strict
        self._relax, self._aliases = relax, aliases or {}
        self.match_path = functools.lru_cache(maxsize=4096)(self._match_path)
        self._response_pointer = functools.lru_cache(maxsize=1024)(self._find_response)
        self._validators = {}

    @functools.cached_property
    def document(self):
        """The parsed spec (loaded once; the C loader when PyYAML has it)."""
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(self.path, encoding="utf-8") as f:
            document = yaml.load(f, Loader=loader)
        return self._relax(document) if self._relax else document

    @functools.cached_property
    def format_checker(self):
        checker = OAS30Validator.FORMAT_CHECKER
        if self.strict:
            return checker
        # Linode's timestamps carry no zone ("2018-01-01T00:01:01"), in the real API as
        # here, though its spec calls them date-time: that one format is not checked.
        lenient = copy.copy(checker)
        lenient.checkers = {k: v for k, v in checker.checkers.items() if k != "date-time"}
        return lenient

    @functools.cached_property
    def _registry(self):
        resource = Resource(contents=self.document, specification=DRAFT4)
        return Registry().with_resource(self.uri, resource)

    def node_at(self, pointer):
        node = self.document
        for token in pointer.lstrip("/").split("/"):
            key = token.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def _deref(self, pointer):
        """Follow `$ref`s from the node at `pointer`; return (pointer, node) of the target."""
        node = self.node_at(pointer)
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), f"{self.path.name}: only local $refs: {ref}"
            pointer = ref[1:]
            node = self.node_at(pointer)
        return pointer, node

    # -- paths ---------------------------------------------------------------------

    def path_params(self, template):
        """The path parameters of a path item, by name (operation-level ones unused)."""
        pointer = _pointer("paths", template)
        params = {}
        for i, _ in enumerate(self.node_at(pointer).get("parameters", [])):
            _, param = self._deref(f"{pointer}/parameters/{i}")
            if param["in"] == "path":
                params[param["name"]] = param
        return params

    def _template_regex(self, template):
        params = self.path_params(template)
        parts = re.split(r"\{([^}]+)\}", template)
        out = []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                out.append(re.escape(part))
            else:
                assert part in params, f"{self.path.name}: {template}: {part} not declared"
                out.append(f"(?:{_param_regex(params[part])})")
        return re.compile("".join(out) + r"\Z")

    @functools.cached_property
    def _templates(self):
        """(regex, template) pairs, most literal text first so fixed segments win."""
        pairs = [(self._template_regex(t), t) for t in self.document["paths"]]
        return sorted(pairs, key=lambda p: -len(re.sub(r"\{[^}]+\}", "", p[1])))

    def _match_path(self, path):
        """Return the path template that `path` matches, or None."""
        for regex, template in self._templates:
            if regex.match(path):
                return template
        return None

    # -- responses -----------------------------------------------------------------

    def _validator(self, response_pointer):
        """A compiled validator for the JSON body of the response at `response_pointer`."""
        if response_pointer not in self._validators:
            pointer, response = self._deref(response_pointer)
            content = response.get("content", {})
            assert JSON_MIMETYPE in content, f"{self.path.name}: {pointer} has no JSON content"
            schema_pointer = f"{pointer}/content/{_escape(JSON_MIMETYPE)}/schema"
            self._validators[response_pointer] = OAS30Validator(
                {"$ref": f"{self.uri}#{schema_pointer}"},
                registry=self._registry,
                format_checker=self.format_checker,
            )
        return self._validators[response_pointer]

    def _find_response(self, template, method, status):
        """Where the response for (template, method, status) is, or a problem's text."""
        operation = method.lower()
        if template is None:
            where, allowed = "x-undocumented-path-response", 404
        elif operation not in METHODS or operation not in self.node_at(_pointer("paths", template)):
            where, allowed = "x-undocumented-method-response", 405
        else:
            responses = _pointer("paths", template, operation, "responses")
            documented = self.node_at(responses)
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
            return None, f"undocumented {what} answered {status} (only {allowed} is allowed)"
        return "/" + _escape(where), None

    def check(self, method, path, response):
        """Assert that `response` to `method path` is what this spec documents.

        A strict spec (ours) must document every path, method and status it is asked
        about; a lenient one (Linode's) checks only the operations and statuses it has.
        """
        if method.upper() in SKIPPED_METHODS:
            return
        for alias, prefix in self._aliases.items():
            if path == alias or path.startswith(alias + "/"):
                path = prefix + path[len(alias) :]
        if not any(path == p or path.startswith(p + "/") for p in self.prefixes):
            return
        if path.startswith("/v4/") and path.endswith("/"):
            path = path[:-1]  # one trailing slash is ignored under /v4 (openapi.yaml)
        status = response.status_code
        where = f"{method} {path} -> {status}"
        template = self.match_path(path)
        if not self.strict and template is None:
            return
        pointer, problem = self._response_pointer(template, method.upper(), status)
        if problem and not self.strict:
            return
        if problem:
            raise AssertionError(f"{self.path.name}: {where}: {problem}")
        if response.status_code == 204 and not self.strict:
            return
        if status == 204 and "content" not in self._deref(pointer)[1]:
            if response.get_data():  # No Content, as documented: nothing may follow
                raise AssertionError(f"{self.path.name}: {where}: a 204 with a body")
            return
        if pointer.startswith("/x-") and not self.strict:
            return
        self._check_body(where, pointer, response)

    def _check_body(self, where, pointer, response):
        content = self._deref(pointer)[1].get("content", {})
        if JSON_MIMETYPE not in content and response.mimetype in content:
            return  # a documented body that is not JSON (GET /metrics: Prometheus' text)
        if response.mimetype != JSON_MIMETYPE:
            raise AssertionError(f"{self.path.name}: {where}: Content-Type is not JSON")
        raw = response.get_data()
        try:
            body = json.loads(raw)
        except ValueError:
            raise AssertionError(f"{self.path.name}: {where}: not JSON: {raw[:200]!r}") from None
        errors = sorted(self._validator(pointer).iter_errors(body), key=lambda e: e.json_path)
        if errors:
            lines = [_describe(e) for e in errors[:MAX_REPORTED_ERRORS]]
            if len(errors) > MAX_REPORTED_ERRORS:
                lines.append(f"  ... and {len(errors) - MAX_REPORTED_ERRORS} more")
            raise AssertionError(
                f"{self.path.name}: {where}: body does not match {pointer}:\n" + "\n".join(lines)
            )


def _escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(*tokens):
    return "/" + "/".join(_escape(str(t)) for t in tokens)


def _param_regex(param):
    schema = param.get("schema", {})
    if param.get("x-matches-slashes"):
        return ".+"
    if schema.get("type") == "integer":
        return "[0-9]+"
    if "enum" in schema:
        return "(?:" + "|".join(re.escape(str(v)) for v in schema["enum"]) + ")"
    return "[^/]+"


def _describe(error):
    location = "".join(f"[{p!r}]" for p in error.absolute_path) or "(body)"
    return f"  at {location}: {error.message}"


# Properties Linode's spec calls non-nullable that the real API answers null, with the
# evidence: the spec's own example, or linode_api4's fixtures (recorded real answers).
LINODE_NULLS = {
    ("backups", "last_successful"): "null before the first backup (fixture linode_instances)",
    ("schedule", "day"): "null while backups are off (fixture linode_instances)",
    ("schedule", "window"): "null while backups are off (fixture linode_instances)",
    (None, "rate"): "the spec's own example is null; fixture account_events",
    (None, "duration"): "null until the event ends (fixture account_events)",
    (None, "time_remaining"): "null unless the event reports one",
    (None, "secondary_entity"): "null for events with no second entity",
    (None, "longview_subscription"): "null on Longview free (Cloud Manager: null | string)",
    ("snapshot", "current"): "null with no manual snapshot (fixture linode_instances_123_backups)",
    ("snapshot", "in_progress"): "null when none runs (fixture linode_instances_123_backups)",
    ("private", "gateway"): "a private IPv4 has no gateway (fixture linode_instances_123_ips)",
    ("private", "rdns"): "a private IPv4 has no reverse DNS (fixture linode_instances_123_ips)",
    ("slaac", "rdns"): "null until one is set (fixture linode_instances_123_ips)",
    ("link_local", "rdns"): "a link-local address has none (fixture linode_instances_123_ips)",
}


# Event actions the real API sends that the spec's enum (4.189.0) lacks.
LINODE_EVENT_ACTIONS = ("firewall_rules_update",)
# Linode statuses the real API shows that the spec's enum lacks: a Linode being resized is
# `resizing` (linode-cli's own suite waits for it after `linodes resize`).
LINODE_STATUSES = ("resizing",)


def _relax_linode(node, parent=None):
    """Adjust Linode's spec (4.189.0) to what the real API and its clients do.

    `additionalProperties: false` is dropped: the spec lags the clients, and linode_api4
    and Cloud Manager read properties it does not list yet (an instance's `locks`,
    `maintenance_policy`, `disk_encryption`). The nulls in LINODE_NULLS are allowed, and
    so is null where the spec marks a property nullable around an `allOf`, and the event
    actions in LINODE_EVENT_ACTIONS. Every property the spec lists must still match its schema.
    """
    if isinstance(node, list):
        for value in node:
            _relax_linode(value, parent)
        return node
    if not isinstance(node, dict):
        return node
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    # GET /tags/{label} discriminates its oneOf on `type`, which in a Linode is the plan id:
    # the validator would look for a schema named "g6-nanode-1". oneOf alone still decides.
    node.pop("discriminator", None)
    if node.get("nullable") and "allOf" in node:  # the spec means it: null passes allOf too
        for member in node["allOf"]:
            member["nullable"] = True
    for name, prop in (node.get("properties") or {}).items():
        if isinstance(prop, dict) and (
            (parent, name) in LINODE_NULLS or (None, name) in LINODE_NULLS
        ):
            prop["nullable"] = True
            if "enum" in prop and None not in prop["enum"]:
                prop["enum"] = [*prop["enum"], None]
        if name == "action" and "firewall_create" in prop.get("enum", ()):
            prop["enum"] = [*prop["enum"], *LINODE_EVENT_ACTIONS]
        if name == "status" and "billing_suspension" in prop.get("enum", ()):
            prop["enum"] = [*prop["enum"], *LINODE_STATUSES]
        _relax_linode(prop, name)
    for key, value in node.items():
        if key != "properties":
            _relax_linode(value, parent)
    return node


CONFIG_SLOTS = ("sda", "sdb", "sdc", "sdd", "sde", "sdf", "sdg", "sdh")


def _config_nulls(node):
    """A config profile as Linode's API and clients have it, where its spec (4.189.0) says less.

    The spec types a config's device slots and their disk_id/volume_id as non-nullable, and
    its `interfaces` arrays as minItems 1, while its own descriptions say a slot "Can be
    null", disk_id is "`null` if a Volume is assigned", and "An empty `interfaces` array
    results in a default public interface"; linode_api4's recorded fixture
    (linode_instances_123_configs.json) has `"sdc": null` and `"volume_id": null`, and its
    `config_create` sends `"interfaces": []`. The root_device `pattern` is prose ("a-z, A-Z,
    0-9, /, _, -") that its own example "/dev/sda" does not match, so it is dropped.
    """
    if isinstance(node, list):
        for value in node:
            _config_nulls(value)
    if not isinstance(node, dict):
        return node
    props = node.get("properties") or {}
    if set(CONFIG_SLOTS) <= set(props):
        for slot in CONFIG_SLOTS:
            props[slot]["nullable"] = True
            for name in ("disk_id", "volume_id"):
                props[slot].get("properties", {}).get(name, {})["nullable"] = True
    if "pattern" in (props.get("root_device") or {}):
        del props["root_device"]["pattern"]
    items = node.get("items")
    if isinstance(items, dict) and "purpose" in (items.get("properties") or {}):
        node.pop("minItems", None)  # an interfaces array
    for value in node.values():
        _config_nulls(value)
    return node


# /v4beta serves what /v4 serves, so its answers are checked against the /v4 paths.
OURS = Spec(SPEC_PATH, SPEC_URI, aliases={"/v4beta": "/v4"})
LINODE = Spec(
    LINODE_SPEC_PATH, LINODE_SPEC_URI, ("/v4", "/v4beta"), strict=False,
    relax=lambda document: _config_nulls(_relax_linode(document)),
)  # fmt: skip


def spec():
    """The parsed openapi.yaml (loaded once per process)."""
    return OURS.document


def node_at(pointer):
    return OURS.node_at(pointer)


def path_params(template):
    return OURS.path_params(template)


def match_path(path):
    """Return the path template in openapi.yaml that `path` matches, or None."""
    return OURS.match_path(path)


def check(method, path, response):
    """Assert that `response` to `method path` is what openapi.yaml documents."""
    OURS.check(method, path, response)


def check_linode(method, path, response):
    """Assert that `response` matches the schema Linode's spec declares for it, if any."""
    LINODE.check(method, path, response)
