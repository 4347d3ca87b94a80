"""Cloud Manager's SDK in headless Chromium, from another origin than the API (CORS).

A page on a second loopback port (another origin) loads the SDK bundle
(bin/cloud-manager-sdk bundle) and runs the create flow of tools/cloud-manager/flow.mjs;
the app lists that origin in CORS_ORIGINS. Chromium enforces CORS for real: a response
without its headers, or a failed preflight, reaches the page only as a network failure.
"""

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cloudapi.api.edge import ALLOWED_HEADERS
from tests.support import cloud_manager

pytestmark = pytest.mark.slow

RUN_FLOW = "options => window.cloudManager.runCreateFlow(options)"
# fetch() from the page: status, JSON body and an exposed header, or the browser's failure.
FETCH = """async ([url, headers]) => {
  try {
    const response = await fetch(url, {headers});
    return {status: response.status, body: await response.json(),
            remaining: response.headers.get("X-RateLimit-Remaining")};
  } catch (failure) {
    return {failed: String(failure)};
  }
}"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def bundle():
    return cloud_manager.sdk_script("bundle")


@pytest.fixture
def page_server(bundle, tmp_path):
    """The page and the bundle, served from their own origin (another loopback port)."""
    shutil.copy(cloud_manager.ROOT / "tools" / "cloud-manager" / "page.html",
                tmp_path / "index.html")  # fmt: skip
    shutil.copy(bundle, tmp_path / "cloud-manager.js")
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def preflights():
    return []


@pytest.fixture
def app(make_app, page_server, preflights):
    """The API, listing the page's origin; it notes the headers each preflight asks for."""
    made = make_app(CORS_ORIGINS=page_server, RATE_LIMIT="1000/60")
    inner = made.wsgi_app

    def noting(environ, start_response):
        if environ["REQUEST_METHOD"] == "OPTIONS":
            asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            preflights.append((environ["PATH_INFO"], asked))
        return inner(environ, start_response)

    made.wsgi_app = noting
    return made


@pytest.fixture
def page(browser_context, page_server):
    opened = browser_context.pages[0] if browser_context.pages else browser_context.new_page()
    errors = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(f"{page_server}/index.html")
    opened.wait_for_function("() => window.cloudManager !== undefined")
    yield opened
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.mark.parametrize("kind", ["customer", "employee"])
def test_the_create_flow_runs_cross_origin(page, live_server, app, make_account, add_host,
                                           preflights, kind):  # fmt: skip
    if kind == "employee":
        add_host("gpu-1.us-east")
    account_id, headers = make_account(tags=("employee",) if kind == "employee" else ())
    token = headers["Authorization"].split()[1]
    options = {**cloud_manager.flow_options(kind, live_server.url), "token": token}
    record = page.evaluate(RUN_FLOW, options)
    failures = [s for s in record["steps"] if cloud_manager.NETWORK_FAILURE in str(s)]
    assert failures == [], "calls the browser refused (CORS)"
    cloud_manager.check_record(record, kind, app, account_id)
    assert preflights, "the SDK's calls were not cross-origin"
    allowed = {h.lower() for h in ALLOWED_HEADERS}
    for path, asked in preflights:  # every header the SDK sends is allowed
        assert {h.strip().lower() for h in asked.split(",") if h.strip()} <= allowed, path
    assert any(path.startswith("/v4beta/") for path, _ in preflights)


def test_errors_are_readable_json_cross_origin(page, live_server, customer):
    bearer = {"Authorization": customer[1]["Authorization"]}
    routed = ("/v4beta/linode/instances/987654", "/v4/linode/types/x")
    for path in ("/v4/no/such/path", *routed):
        got = page.evaluate(FETCH, [f"{live_server.url}{path}", bearer])
        assert got.get("status") == 404, (path, got)
        assert got["body"] == {"errors": [{"reason": "Not found"}]}
        if path in routed:  # X-RateLimit-* are sent on routed paths, exposed to the page
            assert got["remaining"] is not None, path
    refused = page.evaluate(FETCH, [f"{live_server.url}/v4/profile", {"X-Unlisted": "1"}])
    assert "failed" in refused, "a header the API does not allow must fail the preflight"
