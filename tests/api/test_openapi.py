"""openapi.yaml: a valid spec, true to the routes, and a checker that really checks."""

import json
import re

import pytest
from flask import Response
from openapi_spec_validator import validate

from cloudapi.api import account_surface, catalog
from cloudapi.domain import kernels
from cloudapi.services import events, firewalls, instances, profile_tokens, tags
from tests.support import openapi

METHODS = {"GET", "PUT", "POST", "DELETE", "PATCH"}
RULE_PARAM = re.compile(r"<(?:(\w+)(?:\((.*?)\))?:)?(\w+)>")
SPEC_PARAM = re.compile(r"\{([^}]+)\}")
FILTERABLE = {
    "/v4/linode/types": catalog.TYPE_FIELDS,
    "/v4/regions": catalog.REGION_FIELDS,
    "/v4/images": catalog.IMAGE_FIELDS,
    "/v4/linode/instances": instances.FILTERABLE,
    "/v4/account/events": events.FILTERABLE,
    "/v4/networking/firewalls": firewalls.FILTERABLE,
    "/v4/profile/tokens": profile_tokens.FILTERABLE,
    "/v4/account/users": account_surface.USER_FIELDS,
    "/v4/account/maintenance": account_surface.MAINTENANCE_FIELDS,
    "/v4/linode/kernels": kernels.FILTERABLE,
    "/v4/tags": tags.FILTERABLE,
}
SAMPLE_VALUES = {"int": "123", "path": "linode/debian12", "string": "abc"}
# Outside /v4 and /admin: the probes and the scrape (cloudapi/api/health.py, metrics.py).
OPERATIONS = {"/healthz": [{}], "/readyz": [{}], "/metrics": [{"adminToken": []},
                                                            {"metricsToken": []}]}  # fmt: skip


def _flask_routes(app):
    """{(path with {} for params, param kinds, METHOD): rule} for /v4 and /admin."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/v4/", "/admin")) and rule.rule not in OPERATIONS:
            continue  # /v4beta mirrors /v4 (test_v4beta_serves_what_v4_serves)
        variants = [("", ())]
        for i, part in enumerate(RULE_PARAM.split(rule.rule)):
            kind_pos = i % 4
            if kind_pos == 0:
                variants = [(p + part, k) for p, k in variants]
            elif kind_pos == 1:
                converter = part or "string"
            elif kind_pos == 2 and converter == "any":
                items = [s.strip().strip("'\"") for s in part.split(",")]
                variants = [(p + item, k) for p, k in variants for item in items]
            elif kind_pos == 3 and converter != "any":
                variants = [(p + "{}", (*k, converter)) for p, k in variants]
        for method in rule.methods & METHODS:
            for path, kinds in variants:
                routes[(path, kinds, method)] = rule
    return routes


def _param_kind(param):
    if param.get("x-matches-slashes"):
        return "path"
    return "int" if param["schema"].get("type") == "integer" else "string"


def _spec_routes():
    """{(path with {} for params, param kinds, METHOD): template} from openapi.yaml."""
    routes = {}
    for template, item in openapi.spec()["paths"].items():
        params = openapi.path_params(template)
        kinds = tuple(_param_kind(params[name]) for name in SPEC_PARAM.findall(template))
        path = SPEC_PARAM.sub("{}", template)
        for method in item:
            if method.upper() in METHODS:
                routes[(path, kinds, method.upper())] = template
    return routes


def _operations():
    for template, item in openapi.spec()["paths"].items():
        for method, operation in item.items():
            if method.upper() in METHODS:
                yield template, method.upper(), operation


def _resolve(node):
    while "$ref" in node:
        node = openapi.node_at(node["$ref"][1:])
    return node


# -- (a) the spec itself -------------------------------------------------------------


def test_spec_is_valid_openapi():
    validate(openapi.spec())


def test_every_operation_documents_auth_errors_and_a_default():
    for template, method, operation in _operations():
        # The probes (security [{}]) read no credentials at all, so they never say 401.
        needed = {"default"} if operation.get("security") == [{}] else {"401", "default"}
        assert needed <= set(operation["responses"]), (method, template)
        assert operation.get("operationId"), (method, template)


def test_list_operations_take_page_parameters():
    for template, method, operation in _operations():
        if "200" not in operation["responses"]:  # e.g. 204 No Content only
            continue
        ok = _resolve(operation["responses"]["200"])
        if "application/json" not in ok["content"]:  # GET /metrics: Prometheus' text
            continue
        schema = _resolve(ok["content"]["application/json"]["schema"])
        if "pages" not in schema.get("properties", {}):
            continue
        names = {_resolve(p)["name"] for p in operation.get("parameters", [])}
        assert {"page", "page_size"} <= names, (method, template)


# -- (b) the spec and the routes agree -------------------------------------------------


def test_every_route_is_documented_and_every_documented_route_exists(app):
    flask_routes, spec_routes = _flask_routes(app), _spec_routes()
    undocumented = sorted(f"{m} {p} {k}" for p, k, m in flask_routes.keys() - spec_routes.keys())
    missing = sorted(f"{m} {p} {k}" for p, k, m in spec_routes.keys() - flask_routes.keys())
    assert not undocumented, f"routes missing from openapi.yaml: {undocumented}"
    assert not missing, f"openapi.yaml documents routes the app lacks: {missing}"


def test_v4beta_serves_what_v4_serves(app):
    def rules(prefix):
        found = [r for r in app.url_map.iter_rules() if r.rule.startswith(prefix + "/")]
        return {(r.rule.removeprefix(prefix), frozenset(r.methods)) for r in found}

    assert rules("/v4beta") == rules("/v4")
    assert len(rules("/v4")) > 40


def test_checker_matches_paths_as_flask_does(app):
    spec_routes = _spec_routes()
    adapter = app.url_map.bind("localhost")
    for (path, kinds, method), template in spec_routes.items():
        concrete = path.format(*(SAMPLE_VALUES[k] for k in kinds))
        assert openapi.match_path(concrete) == template, concrete
        adapter.match(concrete, method=method)  # raises if Flask disagrees
    for unknown in ("/v4/linode/instances/abc", "/v4/nothing", "/admin/accounts/x/tags"):
        assert openapi.match_path(unknown) is None, unknown


def test_filterable_fields_match_the_code():
    for template, method, operation in _operations():
        params = [_resolve(p) for p in operation.get("parameters", [])]
        filters = [p for p in params if p["name"] == "X-Filter"]
        if template in FILTERABLE and method == "GET":
            assert len(filters) == 1, template
            assert set(filters[0]["x-filterable"]) == set(FILTERABLE[template]), template
        else:
            assert not filters, (method, template)


def test_security_and_grants_match_the_code(app):
    spec_routes = _spec_routes()
    for (path, kinds, method), rule in _flask_routes(app).items():
        template = spec_routes[(path, kinds, method)]
        operation = openapi.spec()["paths"][template][method.lower()]
        security = operation.get("security", openapi.spec()["security"])
        view = app.view_functions[rule.endpoint]
        scope = getattr(view, "required_scope", None)
        grant = operation.get("x-linode-grant")
        if template in OPERATIONS:
            assert security == OPERATIONS[template] and grant is None, template
        elif template.startswith("/admin"):
            assert security == [{"adminToken": []}] and grant is None, template
        elif scope is None:  # public: a token is optional
            assert {} in security and grant is None, template
        else:
            area, write = scope
            expected = None if area is None else f"{area}:{'read_write' if write else 'read_only'}"
            assert security == [{"personalAccessToken": []}], (method, template)
            assert grant == expected, (method, template)


# -- (c) the checker catches drift ---------------------------------------------------------

GOOD_TYPE = {
    "id": "g6-nanode-1", "label": "Nanode 1GB", "class": "nanode", "disk": 25600,
    "memory": 1024, "vcpus": 1, "gpus": 0, "accelerated_devices": 0, "network_out": 1000,
    "transfer": 1000, "price": {"hourly": 0.0075, "monthly": 5.0}, "region_prices": [],
    "addons": {"backups": {"price": {"hourly": 0.003, "monthly": 2.0}, "region_prices": []}},
    "successor": None,
}  # fmt: skip
NOT_FOUND = {"errors": [{"reason": "Not found"}]}


def _response(body, status=200, mimetype="application/json"):
    raw = body if isinstance(body, str) else json.dumps(body)
    return Response(raw, status=status, mimetype=mimetype)


def test_checker_accepts_a_conforming_response():
    openapi.check("GET", "/v4/linode/types/g6-nanode-1", _response(GOOD_TYPE))
    openapi.check("GET", "/v4/linode/types/x", _response(NOT_FOUND, 404))
    openapi.check("GET", "/v4/nothing/here", _response(NOT_FOUND, 404))
    openapi.check("PATCH", "/v4/linode/types", _response(NOT_FOUND, 405))
    openapi.check("GET", "/elsewhere", _response("<html>", mimetype="text/html"))


@pytest.mark.parametrize(
    ("method", "path", "response", "message"),
    [
        (
            "GET", "/v4/linode/types/g6-nanode-1",
            _response({k: v for k, v in GOOD_TYPE.items() if k != "successor"}),
            "'successor' is a required property",
        ),
        (
            "GET", "/v4/linode/types/g6-nanode-1", _response({**GOOD_TYPE, "extra": 1}),
            "Additional properties are not allowed",
        ),
        (
            "GET", "/v4/linode/types/g6-nanode-1", _response({**GOOD_TYPE, "vcpus": "1"}),
            "'1' is not of type 'integer'",
        ),
        (
            "GET", "/v4/linode/types/g6-nanode-1", _response({**GOOD_TYPE, "successor": 7}),
            "7 is not of type 'string'",
        ),
        (
            "GET", "/v4/linode/types",
            _response({"data": [GOOD_TYPE], "page": 1, "pages": 1}),
            "'results' is a required property",
        ),
        (
            "GET", "/v4/linode/types/x",
            _response({"errors": [{"reason": "Not found", "code": 4}]}, 404),
            "Additional properties are not allowed",
        ),
        ("GET", "/v4/linode/types/x", _response({"errors": []}, 404), "should be non-empty"),
        ("GET", "/v4/nothing", _response({}), "undocumented path"),
        ("PATCH", "/v4/linode/types", _response({}), "undocumented method"),
        ("POST", "/v4/linode/instances", _response({}, 201), "undocumented status 201"),
        ("GET", "/v4/linode/types/x", _response("Not found", 404), "not JSON"),
        ("GET", "/v4/linode/types/x", _response("{oops", 404, "application/json"), "not JSON"),
    ],
)  # fmt: skip
def test_checker_rejects_drift(method, path, response, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        openapi.check(method, path, response)


def test_checker_reports_timestamps_in_the_wrong_format():
    event = {
        "id": 1, "action": "linode_create", "created": "2026-01-01T00:00:00Z",
        "entity": {"id": 2, "label": "web1", "type": "linode", "url": "/v4/linode/instances/2"},
        "secondary_entity": None, "status": "scheduled", "percent_complete": 0,
        "duration": None, "rate": None, "time_remaining": None, "message": None,
        "read": False, "seen": False, "username": "user1",
    }  # fmt: skip
    with pytest.raises(AssertionError, match=r"\['created'\]: .* does not match"):
        openapi.check("GET", "/v4/account/events/1", _response(event))
    openapi.check(
        "GET", "/v4/account/events/1", _response({**event, "created": event["created"][:-1]})
    )
