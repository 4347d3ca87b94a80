"""Through real gunicorn (`cloudapi serve`): over-limit requests get our JSON, not HTML.

gunicorn's own error pages for an over-long request line (414), over-large or too many
headers (431) and bad requests (400) are HTML. `cloudapi serve` sets gunicorn's limits
above the app's (cli.serve.gunicorn_limits), so each request here, over our limit but under
gunicorn's, must be answered by the app: JSON in Linode's error shape.
"""

import json

import pytest
import requests

from tests.support.gunicorn import Gunicorn

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
BODY = {"type": "g6-nanode-1", "region": "us-east"}  # no token needed: refused before auth


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    """One gunicorn per database for the module: every limit is checked before the token."""
    env = {"DATABASE_URL": database_url, "RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off"}
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with Gunicorn(env, workers=1, log_path=log) as running:
        yield running


JSON = {"Content-Type": "application/json"}


def assert_json_error(response, status, reason_part):
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    errors = response.json()["errors"]
    assert reason_part in errors[0]["reason"]


def test_an_over_long_url_is_our_json_414(server):
    response = requests.get(f"{server.url}/v4/regions?x={'a' * 6000}", timeout=10)
    assert_json_error(response, 414, "URL is too long")


def test_an_over_large_header_is_our_json_431(server):
    response = requests.get(f"{server.url}/v4/regions", headers={"X-Big": "a" * 30_000},
                            timeout=10)  # fmt: skip
    assert_json_error(response, 431, "headers are too large")


def test_too_many_headers_is_our_json_431(server):
    headers = {f"X-Header-{i}": "1" for i in range(150)}
    response = requests.get(f"{server.url}/v4/regions", headers=headers, timeout=10)
    assert_json_error(response, 431, "headers are too large")


def test_an_over_large_body_is_our_json_413(server):
    raw = json.dumps({**BODY, "group": "x" * (2 * MIB)})
    response = requests.post(f"{server.url}/v4/linode/instances", data=raw, timeout=30,
                             headers=JSON)  # fmt: skip
    assert_json_error(response, 413, "too large")


def test_an_over_large_chunked_body_is_our_json_413(server):
    raw = json.dumps({**BODY, "group": "x" * (2 * MIB)}).encode()
    chunks = (raw[i : i + 65536] for i in range(0, len(raw), 65536))
    response = requests.post(f"{server.url}/v4/linode/instances", data=chunks, timeout=30,
                             headers=JSON)  # fmt: skip
    assert_json_error(response, 413, "too large")


def test_a_non_json_body_is_our_json_400(server):
    response = requests.post(f"{server.url}/v4/linode/instances", data=json.dumps(BODY),
                             headers={"Content-Type": "text/plain"},
                             timeout=10)  # fmt: skip
    assert_json_error(response, 400, "Content-Type must be application/json")


def test_requests_within_the_limits_still_work(server):
    response = requests.get(f"{server.url}/v4/regions?x={'a' * 3000}",
                            headers={"X-Ok": "a" * 8000}, timeout=10)  # fmt: skip
    assert response.status_code == 200, response.text[:300]
    assert response.json()["data"]
