"""Responses also match Linode's official spec, and that check really checks."""

import json

import pytest
from flask import Response

from tests.support import openapi


def _response(body, status=200):
    return Response(json.dumps(body), status=status, mimetype="application/json")


def test_a_served_instance_matches_linodes_schema(client, customer):
    made = client.post("/v4/linode/instances", headers=customer[1],
                       json={"type": "g6-nanode-1", "region": "us-east"})  # fmt: skip
    assert made.status_code == 200
    body = made.get_json()
    openapi.check_linode("GET", f"/v4/linode/instances/{body['id']}", _response(body))
    openapi.check_linode("GET", f"/v4beta/linode/instances/{body['id']}", _response(body))


@pytest.mark.parametrize(
    "change",
    [{"id": "seven"}, {"specs": {"vcpus": "two"}}, {"ipv4": "192.0.2.1"}, {"status": 3}],
)
def test_a_wrong_instance_body_fails_linodes_schema(client, customer, change):
    made = client.post("/v4/linode/instances", headers=customer[1],
                       json={"type": "g6-nanode-1", "region": "us-east"})  # fmt: skip
    path = f"/v4/linode/instances/{made.get_json()['id']}"
    body = {**made.get_json(), **change}
    with pytest.raises(AssertionError, match="linode-openapi.yaml"):
        openapi.check_linode("GET", path, _response(body))


def test_what_linode_does_not_document_is_not_its_business():
    openapi.check_linode("GET", "/admin/hosts", _response({"anything": 1}))
    openapi.check_linode("GET", "/v4/linode/instances/1/no-such-thing", _response([]))


def test_linodes_nulls_are_the_documented_ones():
    found = openapi.LINODE.node_at(
        "/paths/~1{apiVersion}~1account~1events~1{eventId}/get/responses/200/content"
        "/application~1json/schema/properties/rate"
    )
    assert found["nullable"] is True  # the spec's own example is null
    with pytest.raises(AssertionError, match="referrals"):
        openapi.check_linode("GET", "/v4/profile", _response({"referrals": {"credit": 1.5}}))


def test_v4beta_answers_as_v4(client, customer):
    for path in ("/v4/linode/types", "/v4/regions/us-east", "/v4/profile", "/v4/account"):
        v4 = client.get(path, headers=customer[1])
        beta = client.get(path.replace("/v4/", "/v4beta/", 1), headers=customer[1])
        assert (beta.status_code, beta.get_json()) == (v4.status_code, v4.get_json()), path
    made = client.post("/v4beta/linode/instances", headers=customer[1],
                       json={"type": "g6-nanode-1", "region": "us-east"})  # fmt: skip
    assert made.status_code == 200
    listed = client.get("/v4/linode/instances", headers=customer[1]).get_json()["data"]
    assert [i["id"] for i in listed] == [made.get_json()["id"]]
    assert client.get("/v4beta/nothing-here").status_code == 404
    assert client.get("/v4beta/linode/instances").status_code == 401
