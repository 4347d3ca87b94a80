"""Console sessions live on the server: logout and token revocation end them everywhere.

A browser gets only an opaque session id in its cookie; the database keeps the id's hash.
Replays of a cookie after logout (or after its admin token is revoked) go to a 4-worker
gunicorn on fresh connections, so every worker must refuse them, on SQLite and PostgreSQL.
"""

import hashlib

import pytest
import requests
from sqlalchemy import delete, text

from cloudapi.db.accounts import Token
from cloudapi.services import tokens
from tests.support.gunicorn import Gunicorn
from tests.support.redis_store import GUNICORN_LOG_PIDS, worker_pids

REPLAYS = 20
WORKERS = 4


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    """The console's API under gunicorn with 4 workers, default cookie settings (Secure)."""
    log = tmp_path_factory.mktemp("gunicorn") / "console.log"
    env = {"DATABASE_URL": database_url, **GUNICORN_LOG_PIDS}
    with Gunicorn(env, workers=WORKERS, log_path=log) as running:
        yield running


def _admin_token(db):
    with db.transaction() as session:
        return tokens.create(session, is_admin=True, label="console session test")


def _log_in(url, token):
    """Log in; return (Cookie header for replays, CSRF token, the Set-Cookie header)."""
    made = requests.post(f"{url}/admin/session", json={"token": token}, timeout=10)
    assert made.status_code == 200, made.text
    set_cookie = made.headers["Set-Cookie"]
    return set_cookie.split(";")[0], made.json()["csrf_token"], set_cookie


def _replay(server, cookie, csrf, account_id, mark):
    """GETs and CSRF-checked POSTs with the cookie, on fresh connections, until every worker
    has answered some (at least REPLAYS of each); return the set of statuses."""
    headers = {"Cookie": cookie}
    statuses, n = set(), 0
    while n < REPLAYS or len(worker_pids(server.log_path, f"{mark}=")) < WORKERS:
        assert n < 50 * REPLAYS, "the replays never reached every worker"
        got = requests.get(f"{server.url}/admin/accounts?{mark}={n}", headers=headers, timeout=10)
        posted = requests.post(f"{server.url}/admin/accounts/{account_id}/tags?{mark}={n}",
                               json={"tag": "replayed"}, timeout=10,
                               headers={**headers, "X-CSRF-Token": csrf})  # fmt: skip
        statuses.update((got.status_code, posted.status_code))
        n += 1
    return statuses


@pytest.mark.slow
def test_logout_ends_the_session_on_every_worker(server, db, make_account):
    account_id, _ = make_account()
    cookie, csrf, set_cookie = _log_in(server.url, _admin_token(db))
    assert _replay(server, cookie, csrf, account_id, "before") == {200}
    gone = requests.delete(f"{server.url}/admin/session", headers={"Cookie": cookie}, timeout=10)
    assert gone.status_code == 200
    statuses = _replay(server, cookie, csrf, account_id, "after")
    assert statuses == {401}, f"cookie replayed after logout answered {sorted(statuses)}"
    whoami = requests.get(f"{server.url}/admin/session", headers={"Cookie": cookie}, timeout=10)
    assert whoami.json() == {"authenticated": False, "csrf_token": None}
    page = requests.get(f"{server.url}/console/", headers={"Cookie": cookie}, timeout=10)
    assert 'id="login-form"' in page.text
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie  # the default


@pytest.mark.slow
def test_revoking_the_admin_token_ends_its_sessions(server, db, make_account):
    account_id, _ = make_account()
    token = _admin_token(db)
    sessions = [_log_in(server.url, token) for _ in range(2)]  # two browsers
    for cookie, csrf, _ in sessions:
        assert _replay(server, cookie, csrf, account_id, "live") == {200}
    with db.transaction() as session:
        session.execute(delete(Token).where(Token.token_hash == tokens.digest(token)))
    for cookie, csrf, _ in sessions:
        statuses = _replay(server, cookie, csrf, account_id, "revoked")
        assert statuses == {401}, f"cookie of a revoked token answered {sorted(statuses)}"
    with db.reader() as session:
        assert session.execute(text("SELECT count(*) FROM admin_sessions")).scalar() == 0


def test_the_cookie_is_secure_by_default_and_holds_only_a_hashed_id(make_app, db):
    token = _admin_token(db)
    client = make_app().test_client()
    made = client.post("/admin/session", json={"token": token})
    cookie = made.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert token not in cookie and made.get_json()["csrf_token"] not in cookie
    with db.reader() as session:
        stored = session.execute(text("SELECT id_hash FROM admin_sessions")).scalars().all()
    assert stored == [hashlib.sha256(session_id.encode()).hexdigest()]
    plain = make_app(SESSION_COOKIE_SECURE=False).test_client()
    assert "Secure" not in plain.post("/admin/session", json={"token": token}).headers["Set-Cookie"]


def test_an_expired_session_is_refused(make_app, db):
    client = make_app().test_client()
    client.post("/admin/session", json={"token": _admin_token(db)})
    assert client.get("/admin/accounts").status_code == 200
    with db.transaction() as session:
        session.execute(text("UPDATE admin_sessions SET expires = created"))
    assert client.get("/admin/accounts").status_code == 401
    assert client.get("/admin/session").get_json()["authenticated"] is False


def test_logout_deletes_the_row(make_app, db):
    client = make_app().test_client()
    client.post("/admin/session", json={"token": _admin_token(db)})
    assert client.delete("/admin/session").status_code == 200
    with db.reader() as session:
        assert session.execute(text("SELECT count(*) FROM admin_sessions")).scalar() == 0
