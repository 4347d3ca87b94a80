"""Hostile input is a 4xx in Linode's error shape, never a 500, on SQLite and PostgreSQL.

Each class here was once a 500: ids past the database's integer range, JSON nested
past Python's recursion limit, NUL characters (PostgreSQL refuses them in text) and
lone surrogates (no database can store them: they are not encodable as UTF-8).
"""

import json

import pytest

from tests.support.rows import counts

STRONG = "Gpu-Demo-2026!x"
BASE = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": STRONG}  # fmt: skip
PG_INT_MAX = 2**31 - 1
SQLITE_INT_MAX = 2**63 - 1
DEEP = 1000


def errors_of(response):
    return response.get_json()["errors"]


def fields_of(response):
    return sorted(e.get("field") or "" for e in errors_of(response))


@pytest.fixture
def linode(client, customer):
    _, headers = customer
    response = client.post("/v4/linode/instances", json={**BASE, "label": "web-1"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# -- ids out of range -------------------------------------------------------------------

OUT_OF_RANGE = [PG_INT_MAX + 1, SQLITE_INT_MAX + 1, 10**30]
CUSTOMER_ID_PATHS = [
    ("GET", "/v4/linode/instances/{}"),
    ("PUT", "/v4/linode/instances/{}"),
    ("DELETE", "/v4/linode/instances/{}"),
    ("POST", "/v4/linode/instances/{}/boot"),
    ("GET", "/v4/account/events/{}"),
    ("POST", "/v4/account/events/{}/seen"),
    ("POST", "/v4/account/events/{}/read"),
]
ADMIN_ID_PATHS = [
    ("GET", "/admin/accounts/{}"),
    ("POST", "/admin/accounts/{}/tags"),
    ("DELETE", "/admin/accounts/{}/tags/employee"),
    ("POST", "/admin/accounts/{}/gpu-instances"),
    ("GET", "/admin/instances/{}"),
]


@pytest.mark.parametrize("number", OUT_OF_RANGE)
@pytest.mark.parametrize(("method", "path"), CUSTOMER_ID_PATHS)
def test_customer_ids_past_the_integer_range_are_404(client, customer, method, path, number):
    _, headers = customer
    body = {"label": "web-2"} if method == "PUT" else None
    response = client.open(path.format(number), method=method, headers=headers, json=body)
    assert response.status_code == 404
    assert errors_of(response) == [{"reason": "Not found"}]


@pytest.mark.parametrize("number", OUT_OF_RANGE)
@pytest.mark.parametrize(("method", "path"), ADMIN_ID_PATHS)
def test_admin_ids_past_the_integer_range_are_404(client, admin_headers, method, path, number):
    body = {"tag": "beta"} if method == "POST" else None
    response = client.open(path.format(number), method=method, headers=admin_headers, json=body)
    assert response.status_code == 404
    assert errors_of(response) == [{"reason": "Not found"}]


@pytest.mark.parametrize(
    "flt",
    [
        {"id": PG_INT_MAX + 1},
        {"id": {"+gt": SQLITE_INT_MAX + 1}},
        {"+or": [{"id": 1}, {"id": -(2**63) - 1}]},
        {"entity.id": 10**30},
    ],
)
@pytest.mark.parametrize("path", ["/v4/linode/instances", "/v4/account/events"])
def test_filter_ids_past_the_integer_range_are_400(client, customer, path, flt):
    _, headers = customer
    if "entity.id" in flt and path != "/v4/account/events":
        flt = {"id": flt["entity.id"]}
    response = client.get(path, headers={**headers, "X-Filter": json.dumps(flt)})
    assert response.status_code == 400
    assert fields_of(response) == ["X-Filter"]


def test_ids_within_range_still_work(client, customer, linode):
    _, headers = customer
    assert client.get(f"/v4/linode/instances/{PG_INT_MAX}", headers=headers).status_code == 404
    flt = json.dumps({"id": {"+lte": PG_INT_MAX}})
    found = client.get("/v4/linode/instances", headers={**headers, "X-Filter": flt})
    assert [i["id"] for i in found.get_json()["data"]] == [linode["id"]]


# -- nesting ---------------------------------------------------------------------------


def deep_json(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("path", ["/v4/linode/types", "/v4/regions", "/v4/images"])
@pytest.mark.parametrize("filter_text", [deep_json(DEEP), "[" * DEEP, '{"+and": ' * DEEP])
def test_deep_x_filter_is_400_on_public_lists(client, path, filter_text):
    response = client.get(path, headers={"X-Filter": filter_text})
    assert response.status_code == 400
    assert fields_of(response) == ["X-Filter"]


def test_deep_x_filter_is_400_for_instances(client, customer):
    _, headers = customer
    flt = '{"+and": [' * 50 + '{"id": 1}' + "]}" * 50
    response = client.get("/v4/linode/instances", headers={**headers, "X-Filter": flt})
    assert response.status_code == 400
    assert fields_of(response) == ["X-Filter"]


@pytest.mark.parametrize(
    "raw",
    [deep_json(DEEP), '{"tags": ' + deep_json(DEEP) + "}", '{"a": ' * DEEP, "[" * 100_000],
)
def test_deep_body_is_400_not_valid_json(client, customer, db, linode, raw):
    _, headers = customer
    headers = {**headers, "Content-Type": "application/json"}
    before = counts(db)
    for method, path in [("POST", "/v4/linode/instances"),
                         ("PUT", f"/v4/linode/instances/{linode['id']}")]:  # fmt: skip
        response = client.open(path, method=method, data=raw, headers=headers)
        assert response.status_code == 400
        assert errors_of(response) == [{"reason": "Request body is not valid JSON"}]
    assert counts(db) == before


def test_deep_body_is_400_on_admin_and_session_endpoints(client, admin_headers):
    headers = {**admin_headers, "Content-Type": "application/json"}
    for path in ("/admin/accounts", "/admin/hosts", "/admin/session"):
        response = client.post(path, data=deep_json(DEEP), headers=headers)
        assert response.status_code == 400, path
        assert errors_of(response) == [{"reason": "Request body is not valid JSON"}]


def test_reasonable_nesting_is_still_accepted(client, customer):
    _, headers = customer
    body = {**BASE, "interfaces": [{"purpose": "public", "ipv4": {"vpc": None}}]}
    response = client.post("/v4/linode/instances", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()


# -- NUL and invalid Unicode -----------------------------------------------------------

BAD_TEXT = ["ab\x00cd", "\ud800abc", "abc\udfff", "\x00"]


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: {"tags": ["fine", s]}, "tags[1]"),
        (lambda s: {"group": s}, "group"),
        (lambda s: {"label": s}, "label"),
        (lambda s: {"root_pass": STRONG + s}, "root_pass"),
        (lambda s: {"metadata": {"user_data": s}}, "metadata.user_data"),
        (lambda s: {"interfaces": [{"purpose": "vlan", "label": s}]}, "interfaces[0].label"),
        (lambda s: {"stackscript_data": {"k": s}}, "stackscript_data.k"),
    ],
)
def test_bad_text_in_create_is_400_naming_the_field(client, customer, db, bad, change, field):
    _, headers = customer
    before = counts(db)
    response = client.post("/v4/linode/instances", json={**BASE, **change(bad)}, headers=headers)
    assert response.status_code == 400
    assert field in fields_of(response)
    assert counts(db) == before


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize(
    ("change", "field"),
    [(lambda s: {"tags": [s]}, "tags[0]"), (lambda s: {"group": s}, "group"),
     (lambda s: {"label": s}, "label")],
)  # fmt: skip
def test_bad_text_in_update_is_400_naming_the_field(client, customer, linode, bad, change, field):
    _, headers = customer
    url = f"/v4/linode/instances/{linode['id']}"
    response = client.put(url, json=change(bad), headers=headers)
    assert response.status_code == 400
    assert fields_of(response) == [field]
    assert client.get(url, headers=headers).get_json() == linode


def test_invalid_utf8_bytes_are_400_naming_the_field(client, customer):
    _, headers = customer
    raw = json.dumps({**BASE, "group": "GROUP"}).encode().replace(b"GROUP", b"gr\xff\xfe")
    response = client.post(
        "/v4/linode/instances", data=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert fields_of(response) == ["group"]


def test_bad_text_in_a_key_is_400(client, customer):
    _, headers = customer
    response = client.post("/v4/linode/instances", json={**BASE, "\x00": 1}, headers=headers)
    assert response.status_code == 400


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize(
    ("path", "flt"),
    [
        ("/v4/linode/instances", lambda s: {"label": s}),
        ("/v4/linode/instances", lambda s: {"tags": {"+contains": s}}),
        ("/v4/account/events", lambda s: {"entity.label": s}),
        ("/v4/linode/types", lambda s: {"label": s}),
        ("/v4/regions", lambda s: {"country": s}),
    ],
)
def test_bad_text_in_x_filter_is_400(client, customer, path, flt, bad):
    _, headers = customer
    response = client.get(path, headers={**headers, "X-Filter": json.dumps(flt(bad))})
    assert response.status_code == 400
    assert fields_of(response) == ["X-Filter"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v4/betas/%00", 404),
        ("/v4/account/betas/%00", 404),
        ("/admin/hosts/a%00b", 404),
        ("/admin/flags/%00/enable", 404),
        ("/admin/accounts/1/tags/%00", 404),
        ("/admin/accounts?search=%00", 400),
        ("/admin/hosts?region=%00", 400),
        ("/admin/capacity?region=x%00", 400),
        ("/v4/linode/types?page=%00", 400),
    ],
)
def test_nul_in_path_or_query_is_a_4xx(client, customer, admin_headers, path, status):
    headers = admin_headers if path.startswith("/admin") else customer[1]
    method = "POST" if path.endswith("/enable") else "GET"
    if "/tags/" in path:
        method = "DELETE"
    response = client.open(path, method=method, headers=headers)
    assert response.status_code == status
    assert errors_of(response)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a\x00@example.com"}, "email"),
        ({"email": "x@example.com", "tags": ["\ud800"]}, "tags[0]"),
    ],
)
def test_bad_text_in_admin_bodies_is_400(client, admin_headers, body, field):
    response = client.post("/admin/accounts", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert fields_of(response) == [field]


def test_bad_text_in_the_session_token_is_400(client):
    response = client.post("/admin/session", json={"token": "abc\x00"})
    assert response.status_code == 400
    assert fields_of(response) == ["token"]


def test_host_numbers_past_the_integer_range_are_400(client, admin_headers):
    node = {"node": 0, "cpus": "0-3", "memory_mb": 2**40}
    body = {"hostname": "gpu-9.us-east", "region": "us-east", "numa_nodes": [node]}
    response = client.post("/admin/hosts", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert fields_of(response) == ["numa_nodes[0].memory_mb"]


@pytest.mark.parametrize(
    "path", ["/v4/images//linode/debian12", "/v4//regions", "/v4/linode/kernels//x"]
)
def test_doubled_slashes_are_a_json_404_not_an_html_redirect(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert errors_of(response) == [{"reason": "Not found"}]
