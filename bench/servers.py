"""The two servers the HTTP bench compares: the real app and the bare-Flask ceiling.

Both run under the gunicorn wrapper the tests use (tests.support.gunicorn.Gunicorn), with
the same --workers and --threads and warnings-only logs. The bare app (bench/bare_app.py)
serves the real app's own `GET /v4/linode/types` body, checked byte for byte, so the gap
between the two is what cloudapi adds per request.
"""

import http.client
from pathlib import Path

from tests.support.gunicorn import Gunicorn

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TYPES = "/v4/linode/types"
# One client sends thousands of requests a second: Linode's per-caller limits would
# answer 429, so they are off here (they are tested in tests/api/test_edge.py).
NO_RATE_LIMITS = {"RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off"}


def http_get(port, path, headers=None, timeout=5.0):
    """(status, headers, body) of one GET on loopback: no client library in the way."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def _gunicorn(name, app, env, args, workdir, pythonpath=None):
    """A server of the bench: both get the same gunicorn settings, each its own log."""
    log_path = Path(workdir) / f"{name}.log"
    return Gunicorn(env, workers=args.workers, log_path=log_path, app=app, threads=args.threads,
                    pythonpath=pythonpath, cwd=ROOT, ready_path=TYPES, name=name)  # fmt: skip


def start_real(stack, args, url, workdir):
    """Serve `args.app` on the bench database until `stack` closes."""
    env = {"DATABASE_URL": url, **NO_RATE_LIMITS}
    return stack.enter_context(_gunicorn("real", args.app, env, args, workdir))


def types_body(real, auth):
    """The real server's types (body, headers): the bytes the ceiling must serve too."""
    status, headers, body = http_get(real.port, TYPES)
    status_auth, _, body_auth = http_get(real.port, TYPES, auth)
    if status != 200 or status_auth != 200:
        raise RuntimeError(
            f"GET {TYPES} answered {status} anonymously, {status_auth} with "
            f"the token; server log:\n{real.log_tail()}"
        )
    if body_auth != body:
        print("note: the authenticated types body differs from the anonymous one")
    return body, headers


def start_bare(stack, args, workdir, body, headers):
    """Serve `body` from bench/bare_app.py until `stack` closes; check it answers the same."""
    body_file = Path(workdir) / "types.json"
    body_file.write_bytes(body)
    env = {"BENCH_BARE_BODY": str(body_file)}
    bare = stack.enter_context(
        _gunicorn("bare", "bare_app:create_app()", env, args, workdir, pythonpath=BENCH)
    )
    _, bare_headers, bare_body = http_get(bare.port, TYPES)
    if bare_body != body:
        raise RuntimeError("the bare app does not serve the same bytes as the real one")
    if bare_headers.get("Content-Type") != headers.get("Content-Type"):
        print("note: Content-Type differs between the real and the bare app")
    return bare


def start_servers(stack, args, url, auth, workdir):
    """Both servers, ready, stopped (process groups killed) when `stack` closes."""
    real = start_real(stack, args, url, workdir)
    body, headers = types_body(real, auth)
    bare = start_bare(stack, args, workdir, body, headers)
    print(
        f"servers ready: real :{real.port}, bare :{bare.port} (types body {len(body)} bytes)",
        flush=True,
    )
    return {"real": real, "bare": bare}
