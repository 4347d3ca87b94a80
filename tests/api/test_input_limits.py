"""What a request may carry: JSON bodies only, bounded sizes, bounded lists.

Each limit is answered in Linode's error shape: 400 for a body that is not JSON or a
list that is too long, 413 for a body over MAX_CONTENT_LENGTH, 414/431 for a URL or
headers over ours (which sit below gunicorn's: tests/integration/test_gunicorn_limits.py).
"""

import io
import json

import pytest

from cloudapi.schemas import linodes as linode_schemas
from tests.support.rows import counts

STRONG = "Gpu-Demo-2026!x"
BASE = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": STRONG}  # fmt: skip
URL = "/v4/linode/instances"
MIB = 1024 * 1024


def errors_of(response):
    return response.get_json()["errors"]


def fields_of(response):
    return sorted(e.get("field") or "" for e in errors_of(response))


# -- content types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", json.dumps(BASE)),
        ("application/x-www-form-urlencoded", "type=g6-standard-2&region=us-east"),
        ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="a"'
                                            "\r\n\r\n1\r\n--x--\r\n"),
        ("application/xml", "<linode><type>g6-standard-2</type></linode>"),
        ("text/xml", "<linode/>"),
        (None, json.dumps(BASE)),
        ("application/json; charset=latin-1", json.dumps(BASE)),
        ("application/jsonx", json.dumps(BASE)),
    ],
)  # fmt: skip
def test_a_body_that_is_not_json_is_400(client, customer, db, content_type, raw):
    _, headers = customer
    if content_type:
        headers = {**headers, "Content-Type": content_type}
    before = counts(db)
    response = client.post(URL, data=raw, headers=headers)
    assert response.status_code == 400
    assert errors_of(response)[0]["reason"].startswith("Content-Type must be application/json")
    assert counts(db) == before


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"],
)
def test_json_with_or_without_a_utf8_charset_is_accepted(client, customer, content_type):
    _, headers = customer
    response = client.post(
        URL, data=json.dumps(BASE), headers={**headers, "Content-Type": content_type}
    )
    assert response.status_code == 200, response.get_json()


def test_a_non_json_body_is_400_even_where_none_is_read(client, customer, admin_headers):
    _, headers = customer
    plain = {"Content-Type": "text/plain"}
    response = client.post("/v4/account/events/1/seen", data="x", headers={**headers, **plain})
    assert response.status_code == 400
    response = client.post("/admin/flags/x/enable", data="x", headers={**admin_headers, **plain})
    assert response.status_code == 400


def test_bodiless_requests_need_no_content_type(client, customer):
    _, headers = customer
    assert client.get("/v4/regions", headers={"Content-Type": "text/plain"}).status_code == 200
    assert client.delete(f"{URL}/123", headers=headers).status_code == 404


# -- sizes -----------------------------------------------------------------------------


def test_a_10_mib_body_is_413_json(client, customer, db):
    _, headers = customer
    raw = json.dumps({**BASE, "group": "x" * (10 * MIB)})
    before = counts(db)
    response = client.post(URL, data=raw, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 413, response.get_json()
    assert response.mimetype == "application/json"
    assert "too large" in errors_of(response)[0]["reason"]
    assert counts(db) == before


def test_the_body_limit_is_1_mib_by_default_and_configurable(make_app, customer):
    _, headers = customer
    headers = {**headers, "Content-Type": "application/json"}
    just_over = json.dumps({**BASE, "group": "x" * MIB})
    assert make_app().test_client().post(URL, data=just_over, headers=headers).status_code == 413
    small = make_app(MAX_CONTENT_LENGTH=4096).test_client()
    assert small.post(URL, data=json.dumps({**BASE, "group": "x" * 5000}),
                      headers=headers).status_code == 413  # fmt: skip
    assert small.post(URL, data=json.dumps(BASE), headers=headers).status_code == 200


def test_a_chunked_body_over_the_limit_is_413(make_app, customer):
    _, headers = customer
    client = make_app(MAX_CONTENT_LENGTH=4096).test_client()
    raw = json.dumps({**BASE, "group": "x" * 8000}).encode()
    # No Content-Length: the body's end is the stream's end, as with a chunked upload.
    chunked = {"CONTENT_LENGTH": "", "wsgi.input_terminated": True,
               "HTTP_TRANSFER_ENCODING": "chunked"}  # fmt: skip
    response = client.post(URL, input_stream=io.BytesIO(raw), environ_overrides=chunked,
                           headers={**headers, "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413, response.get_json()
    assert errors_of(response) == [{"reason": "Request body is too large (at most 4096 bytes)"}]


def test_an_over_long_url_is_414_json(client, customer):
    _, headers = customer
    response = client.get("/v4/regions?x=" + "a" * 5000, headers=headers)
    assert response.status_code == 414
    assert errors_of(response) == [{"reason": "Request URL is too long"}]


@pytest.mark.parametrize(
    "extra",
    [{"X-Big": "a" * 20_000}, {f"X-H{i}": "1" for i in range(120)}],
    ids=["one-large-header", "many-headers"],
)
def test_over_large_headers_are_431_json(client, extra):
    response = client.get("/v4/regions", headers=extra)
    assert response.status_code == 431
    assert errors_of(response) == [{"reason": "Request headers are too large"}]


# -- lists and lengths -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tags": [f"tag{i}" for i in range(10_000)]}, "tags"),
        ({"tags": [f"tag{i}" for i in range(linode_schemas.MAX_TAGS + 1)]}, "tags"),
        ({"interfaces": [{"purpose": "vlan", "label": f"v{i}"} for i in range(4)]}, "interfaces"),
        ({"authorized_keys": ["k"] * 101}, "authorized_keys"),
        ({"authorized_users": ["u"] * 101}, "authorized_users"),
        ({"ipv4": ["192.0.2.1"] * 17}, "ipv4"),
        ({"stackscript_data": {"k": "x" * 70_000}}, "stackscript_data"),
        ({"tags": ["x" * 51]}, "tags[0]"),
        ({"label": "x" * 65}, "label"),
        ({"group": "x" * 51}, "group"),
    ],
)
def test_too_long_lists_and_strings_are_400(client, customer, db, change, field):
    _, headers = customer
    before = counts(db)
    response = client.post(URL, json={**BASE, **change}, headers=headers)
    assert response.status_code == 400
    assert field in fields_of(response)
    assert counts(db) == before


def test_a_huge_list_gets_one_error_not_one_per_item(client, customer):
    _, headers = customer
    response = client.post(URL, json={**BASE, "tags": ["x"] * 10_000}, headers=headers)
    assert errors_of(response) == [{"field": "tags", "reason": "Must have at most 500 items"}]


def test_tags_on_update_are_bounded_too(client, customer):
    _, headers = customer
    made = client.post(URL, json=BASE, headers=headers).get_json()
    response = client.put(f"{URL}/{made['id']}", json={"tags": ["abc"] * 501}, headers=headers)
    assert response.status_code == 400
    assert fields_of(response) == ["tags"]


def test_the_limits_themselves_are_accepted():
    schema = linode_schemas.LinodeUpdateSchema(label_taken=lambda label: False)
    tags = [f"tag{i}" for i in range(linode_schemas.MAX_TAGS)]
    assert schema.load({"tags": tags})["tags"] == tags
