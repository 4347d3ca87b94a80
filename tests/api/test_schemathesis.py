"""Schemathesis over openapi.yaml, straight into the WSGI app: no input is a 500.

Every operation is fed generated requests, valid and invalid (schemathesis' positive
and negative modes), by four callers: a customer, an employee (the GPU feature), an
admin and no token at all. Each response must not be a server error and must be what
openapi.yaml documents (status, content type, headers and body schema). Failures are
collected rather than raised one at a time, so a regression reports every broken
operation at once, with a reproducer for each.

The examples are bounded (FULL, TURNED_AWAY) and shrinking is off, so the whole run
stays within about a minute per database.
"""

import collections
import contextlib
import os

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import openapi

# Examples per operation, caller and mode. Callers an operation is for get the full
# budget; the others (an admin token on /v4, a customer on /admin, no token where one is
# needed) are turned away with a 401 before any input is read, so a few examples do.
FULL = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}
TURNED_AWAY = {GenerationMode.POSITIVE: 2}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_REPORTED = 15


@pytest.fixture
def callers(app, customer, employee, admin_headers):
    """The four callers, each as the headers it sends (none for the anonymous one)."""
    return {
        "customer": customer[1],
        "employee": employee[1],
        "admin": admin_headers,
        "anonymous": {},
    }


@pytest.fixture
def api_schema(app):
    schema = schemathesis.openapi.from_path(str(openapi.SPEC_PATH))
    schema.app = app
    return schema


def _audience(operation):
    """Who an operation is for: "admin", "public" (no token needed) or "customer"."""
    security = operation.definition.raw.get("security")
    if security is None:
        security = operation.schema.raw_schema.get("security", [])
    if {"adminToken": []} in security:
        return "admin"
    return "public" if {} in security else "customer"


def _budget(audience, who):
    served = {"admin": {"admin"}, "public": {"customer", "employee", "anonymous"},
              "customer": {"customer", "employee"}}[audience]  # fmt: skip
    return FULL if who in served else TURNED_AWAY


def _exercise(operation, mode, examples, headers, found):
    """Run one operation in one mode for one caller; add each failure to `found`."""
    settings = hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=bool(os.environ.get("SCHEMATHESIS_DERANDOMIZE")),
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )

    @settings
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        if not headers:
            case.headers = {k: v for k, v in (case.headers or {}).items()
                            if k.lower() != "authorization"}  # fmt: skip
        response = case.call(headers=headers or None)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers or None)
        except FailureGroup as group:
            for failure in group.exceptions:
                found.append((operation.label, mode.value, failure, case.as_curl_command()))

    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        run()  # Unsatisfiable: nothing to negate (no parameters and no body)


def test_no_input_is_a_server_error_or_off_spec(api_schema, callers):
    found = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        audience = _audience(operation)
        for who, headers in callers.items():
            for mode, examples in _budget(audience, who).items():
                before = len(found)
                _exercise(operation, mode, examples, headers, found)
                for i in range(before, len(found)):
                    found[i] = (who, *found[i])
    server_errors = [f for f in found if type(f[3]).__name__ == "ServerError"]
    by_kind = collections.Counter(
        "server error" if f in server_errors else "spec violation" for f in found
    )
    lines = [
        f"{who} {label} [{mode}] {type(failure).__name__}: {failure.title}\n    {curl}"
        for who, label, mode, failure, curl in found[:MAX_REPORTED]
    ]
    assert not found, (
        f"{by_kind['server error']} server errors, {by_kind['spec violation']} spec "
        f"violations:\n" + "\n".join(lines)
    )
