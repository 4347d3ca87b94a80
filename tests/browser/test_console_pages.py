"""The console's pages and the JSON routes it uses, without a browser (spec-checked client)."""

import re

from sqlalchemy import delete

from cloudapi.db.accounts import Token
from cloudapi.services import tokens

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def _token(headers):
    return headers["Authorization"].split()[1]


def _log_in(client, token):
    return client.post("/admin/session", json={"token": token})


def test_without_a_session_the_console_is_the_login_form(client):
    page = client.get("/console/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'id="login-form"' in html and "csrf-token" not in html
    assert 'id="capacity"' not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert client.get("/console").status_code == 308  # to /console/
    script = client.get("/console/static/console.js")
    assert script.status_code == 200 and "X-CSRF-Token" in script.get_data(as_text=True)
    script.close()


def test_an_admin_session_gets_the_console_with_its_csrf_token(client, admin_headers):
    assert client.get("/admin/session").get_json() == {"authenticated": False, "csrf_token": None}
    made = _log_in(client, _token(admin_headers))
    assert made.status_code == 200
    cookie = made.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert _token(admin_headers) not in cookie
    csrf = made.get_json()["csrf_token"]
    html = client.get("/console/").get_data(as_text=True)
    assert CSRF_META.search(html).group(1) == csrf
    assert 'id="capacity"' in html and 'id="login-form"' not in html
    assert client.get("/admin/session").get_json() == {"authenticated": True, "csrf_token": csrf}
    assert client.delete("/admin/session").get_json() == {}
    assert 'id="login-form"' in client.get("/console/").get_data(as_text=True)


def test_customer_and_host_tokens_get_no_session(client, db, customer):
    with db.transaction() as session:
        host = tokens.create(session, host="gpu-1.us-east")
    for token in (_token(customer[1]), host, "nope"):
        refused = _log_in(client, token)
        assert refused.status_code == 401 and "Set-Cookie" not in refused.headers
        assert 'id="login-form"' in client.get("/console/").get_data(as_text=True)
    assert _log_in(client, "").status_code == 400


def test_a_revoked_admin_token_ends_the_console_session(client, db, admin_headers):
    _log_in(client, _token(admin_headers))
    with db.transaction() as session:
        session.execute(delete(Token).where(Token.is_admin))
    assert 'id="login-form"' in client.get("/console/").get_data(as_text=True)
    assert client.get("/admin/capacity").status_code == 401


def test_the_one_button_routes_through_a_session(client, gpu_hosts, make_account, admin_headers):
    account_id, _ = make_account(email="console-api@example.com")
    csrf = _log_in(client, _token(admin_headers)).get_json()["csrf_token"]
    found = client.get("/admin/accounts", query_string={"search": "console-api"}).get_json()
    assert [a["id"] for a in found["data"]] == [account_id]
    by_id = client.get("/admin/accounts", query_string={"search": str(account_id)}).get_json()
    assert [a["id"] for a in by_id["data"]] == [account_id]

    body = {"type": "g1-gpu-rtx6000-1", "region": "us-east"}
    url = f"/admin/accounts/{account_id}/gpu-instances"
    assert client.post(url, json=body).status_code == 403  # no CSRF token
    assert client.post(url, json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    made = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 200, made.get_json()
    made = made.get_json()
    assert made["account_id"] == account_id and made["instance"]["type"] == body["type"]
    view = client.get(f"/admin/instances/{made['instance']['id']}").get_json()
    assert view["status"] == "provisioning" and view["host"] in gpu_hosts
    assert [e["action"] for e in view["events"]] == ["linode_create"]
    assert made["root_pass"] not in str(view)

    bad = client.post(url, json={"type": "g6-nanode-1", "region": "us-east"},
                      headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert bad.status_code == 400
    missing = client.post("/admin/accounts/999999/gpu-instances", json=body,
                          headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert missing.status_code == 404
    assert client.get("/admin/instances/999999").status_code == 404
