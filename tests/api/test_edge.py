"""CORS for listed front-end origins, Linode's rate limits, and idempotent creates."""

import pytest

from cloudapi.api.budgets import ALL, Budget, parse_limit
from tests.support.rows import counts
from tests.support.unleash import free_port

ORIGIN = "https://manager.example.com"
BODY = {"type": "g6-nanode-1", "region": "us-east"}


@pytest.fixture
def edge_app(make_app, redis_limits):
    return make_app(CORS_ORIGINS=f"{ORIGIN}, http://localhost:3000", RATE_LIMIT="5/60",
                    RATE_LIMIT_CREATE="2/30", **redis_limits)  # fmt: skip


def test_preflight_for_a_listed_origin(edge_app):
    client = edge_app.test_client()
    response = client.options("/v4/linode/instances", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-filter",
    })  # fmt: skip
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert all(h in allowed for h in ("authorization", "content-type", "x-filter"))
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    got = client.get("/v4/linode/types", headers={"Origin": ORIGIN})
    assert got.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-RateLimit-Remaining" in got.headers["Access-Control-Expose-Headers"]


def test_no_cors_for_other_origins(edge_app, app):
    for client in (edge_app.test_client(), app.test_client()):  # app: no origins configured
        response = client.options("/v4/linode/types", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})  # fmt: skip
        assert "Access-Control-Allow-Origin" not in response.headers
        got = client.get("/v4/linode/types", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in got.headers


def _preflight(client, path, method="GET", origin=ORIGIN):
    return client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    })  # fmt: skip


@pytest.mark.parametrize("version", ["v4", "v4beta"])
def test_every_answer_carries_cors_errors_included(edge_app, make_account, version):
    """Browsers read a CORS-less response as a network failure: errors need CORS too."""
    client = edge_app.test_client()
    _, headers = make_account()
    seen = {
        "ok": client.get(f"/{version}/linode/types", headers={"Origin": ORIGIN}),
        "404": client.get(
            f"/{version}/linode/instances/987654", headers={**headers, "Origin": ORIGIN}
        ),
        "405": client.delete(f"/{version}/linode/types", headers={"Origin": ORIGIN}),
        "unrouted": client.get(f"/{version}/no/such/path", headers={"Origin": ORIGIN}),
        "401": client.get(
            f"/{version}/profile", headers={"Authorization": "Bearer nope", "Origin": ORIGIN}
        ),
    }
    statuses = {name: response.status_code for name, response in seen.items()}
    assert statuses == {"ok": 200, "404": 404, "405": 405, "unrouted": 404, "401": 401}
    for name, response in seen.items():
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN, name
        assert "Retry-After" in response.headers["Access-Control-Expose-Headers"], name
        assert "Origin" in response.vary, name
        if name != "ok":
            assert response.get_json()["errors"][0]["reason"], name
    assert seen["405"].get_json() == {"errors": [{"reason": "Method not allowed"}]}


@pytest.mark.parametrize("path", ["/v4/linode/instances", "/v4beta/linode/instances/12",
                                  "/v4/no/such/path", "/nowhere"])  # fmt: skip
def test_preflights_answer_routed_or_not(edge_app, path):
    response = _preflight(edge_app.test_client(), path, "DELETE")
    assert response.status_code == 204 and response.get_data() == b""
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"GET", "POST", "PUT", "DELETE"}
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "idempotency-key" in allowed and "authorization" in allowed
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in response.vary


def test_preflights_spend_no_budget(edge_app, make_account):
    client = edge_app.test_client()
    _, headers = make_account()
    for _ in range(8):  # more than the budget of 5
        assert _preflight(client, "/v4/linode/instances", "POST").status_code == 204
    got = client.get("/v4/linode/instances", headers={**headers, "Origin": ORIGIN})
    assert got.status_code == 200 and got.headers["X-RateLimit-Remaining"] == "4"


def test_a_500_is_readable_cross_origin(edge_app, monkeypatch):
    def broken():
        raise RuntimeError("a bug")

    monkeypatch.setattr(edge_app.extensions["cloudapi.catalog"], "snapshot", broken)
    failed = edge_app.test_client().get("/v4/regions", headers={"Origin": ORIGIN})
    assert failed.status_code == 500
    assert failed.get_json() == {"errors": [{"reason": "Internal server error"}]}
    assert failed.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_a_429_is_readable_cross_origin(make_app, make_account):
    client = make_app(CORS_ORIGINS=ORIGIN, RATE_LIMIT="1/60").test_client()
    _, headers = make_account()
    client.get("/v4/linode/types", headers=headers)
    limited = client.get("/v4/linode/types", headers={**headers, "Origin": ORIGIN})
    assert limited.status_code == 429
    assert limited.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Retry-After" in limited.headers["Access-Control-Expose-Headers"]
    assert "Origin" in limited.vary  # one origin listed: still varies on Origin


def test_cors_only_where_and_for_whom_it_is_listed(make_app, admin_headers):
    client = make_app(CORS_ORIGINS=f"{ORIGIN},https://*.example.org").test_client()
    no_origin = client.get("/v4/linode/types")  # not a CORS request: no origin sent back
    assert "Access-Control-Allow-Origin" not in no_origin.headers
    assert "Origin" in no_origin.vary
    pattern = client.get("/v4/linode/types", headers={"Origin": "https://x.example.org"})
    assert "Access-Control-Allow-Origin" not in pattern.headers  # listed origins are literal
    longer = client.get("/v4/linode/types", headers={"Origin": ORIGIN + ".evil.example"})
    assert "Access-Control-Allow-Origin" not in longer.headers
    for path in ("/admin/accounts", "/internal/hosts", "/console/"):
        staff = client.get(path, headers={**admin_headers, "Origin": ORIGIN})
        assert "Access-Control-Allow-Origin" not in staff.headers, path
    assert "Access-Control-Allow-Origin" not in _preflight(client, "/admin/accounts").headers


def test_rate_limit_headers_and_429(edge_app, make_account):
    client = edge_app.test_client()
    _, headers = make_account()
    seen = []
    for _ in range(5):
        response = client.get("/v4/linode/instances", headers=headers)
        assert response.status_code == 200
        seen.append(int(response.headers["X-RateLimit-Remaining"]))
    assert seen == [4, 3, 2, 1, 0]
    assert response.headers["X-RateLimit-Limit"] == "5"
    refused = client.get("/v4/linode/instances", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and refused.headers["X-RateLimit-Limit"] == "5"
    limited = client.get("/v4/linode/instances", headers=headers)
    assert limited.status_code == 429
    assert limited.get_json() == {"errors": [{"reason": "Too many requests"}]}
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    _, other = make_account()  # budgets are per caller
    assert client.get("/v4/linode/instances", headers=other).status_code == 200


def test_creates_have_a_stricter_limit(edge_app, make_account, db):
    client = edge_app.test_client()
    _, headers = make_account()
    for _ in range(2):
        assert client.post("/v4/linode/instances", json=BODY, headers=headers).status_code == 200
    before = counts(db)
    third = client.post("/v4/linode/instances", json=BODY, headers=headers)
    assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1
    assert counts(db) == before


def test_limit_notation():
    assert parse_limit("off") is None and parse_limit("10/30") == (10, 30)
    budget = Budget.of(ALL, "800/120")
    assert (budget.amount, budget.item.get_expiry()) == (800, 120) and Budget.of(ALL, "") is None


def _from(address):
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_failed_authentication_is_limited_per_address(make_app, redis_limits, make_account):
    client = make_app(RATE_LIMIT_AUTH_FAILURES="10/60", **redis_limits).test_client()
    _, good = make_account()
    guesses = [client.get("/v4/profile", headers={"Authorization": f"Bearer guess{n}"},
                          **_from("10.0.0.7")).status_code for n in range(12)]  # fmt: skip
    assert guesses == [401] * 10 + [429] * 2
    blocked = client.get("/v4/profile", headers=good, **_from("10.0.0.7"))  # any token
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert blocked.get_json() == {"errors": [{"reason": "Too many requests"}]}
    login = client.post("/admin/session", json={"token": "guess"}, **_from("10.0.0.7"))
    assert login.status_code == 429  # the console's login is a token guess too
    assert client.get("/v4/linode/types", **_from("10.0.0.7")).status_code == 200  # no token
    assert client.get("/v4/profile", headers=good, **_from("10.0.0.8")).status_code == 200
    wrong_scope = make_account(scopes="events:read_only")[1]  # a valid token: not a failure
    for _ in range(12):
        refused = client.get("/v4/linode/instances", headers=wrong_scope, **_from("10.0.0.9"))
        assert refused.status_code == 401
    assert client.get("/v4/profile", headers=good, **_from("10.0.0.9")).status_code == 200


def test_failed_authentication_limit_can_be_off(make_app, redis_limits):
    client = make_app(RATE_LIMIT_AUTH_FAILURES="off", **redis_limits).test_client()
    for n in range(15):
        bad = {"Authorization": f"Bearer guess{n}"}
        assert client.get("/v4/profile", headers=bad).status_code == 401


def test_embedded_default_counts_in_memory(make_app, make_account):
    client = make_app(RATE_LIMIT="3/60").test_client()  # RATELIMIT_STORAGE_URI: memory://
    _, headers = make_account()
    statuses = [client.get("/v4/linode/instances", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_unreachable_redis_falls_back_to_counting_per_process(make_app, make_account):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    client = make_app(RATE_LIMIT="3/60", RATELIMIT_STORAGE_URI=dead).test_client()
    _, headers = make_account()
    statuses = [client.get("/v4/linode/instances", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_idempotency_key_returns_the_first_create(client, customer, db):
    _, headers = customer
    keyed = {**headers, "Idempotency-Key": "retry-7f3a"}
    first = client.post("/v4/linode/instances", json=BODY, headers=keyed)
    before = counts(db)
    again = client.post("/v4/linode/instances", json=BODY, headers=keyed)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert counts(db) == before
    fresh = client.post("/v4/linode/instances", json=BODY,
                        headers={**headers, "Idempotency-Key": "another"})  # fmt: skip
    assert fresh.get_json()["id"] != first.get_json()["id"]
    bad = client.post("/v4/linode/instances", json=BODY,
                      headers={**headers, "Idempotency-Key": "x" * 200})  # fmt: skip
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "Idempotency-Key"


def test_idempotency_keys_are_per_account(client, make_account):
    _, one = make_account()
    _, two = make_account()
    a = client.post("/v4/linode/instances", json=BODY, headers={**one, "Idempotency-Key": "k1"})
    b = client.post("/v4/linode/instances", json=BODY, headers={**two, "Idempotency-Key": "k1"})
    assert a.get_json()["id"] != b.get_json()["id"]


@pytest.mark.slow
def test_official_client_retries_a_429_and_creates_once(make_app, make_account, redis_limits):
    """linode_api4 retries a create after a 429 (honouring Retry-After): one instance."""
    from linode_api4 import LinodeClient

    from tests.support.live import LiveServer

    app = make_app(RATE_LIMIT_CREATE="1/2", **redis_limits)
    _, headers = make_account()
    with LiveServer(app) as server:
        sdk = LinodeClient(headers["Authorization"].split()[1], base_url=f"{server.url}/v4")
        first = sdk.linode.instance_create("g6-nanode-1", "us-east")
        second = sdk.linode.instance_create("g6-nanode-1", "us-east")  # 429, waits, retries
        assert first.id != second.id
        assert len(list(sdk.linode.instances())) == 2
        sdk.session.close()
