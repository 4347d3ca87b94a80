"""The servers the HTTP bench measures, and the bytes and rows their ceilings are made of.

All run under the gunicorn wrapper the tests use (tests.support.gunicorn.Gunicorn), with
warnings-only logs; the measured ones with the same --workers and --threads:

- "main": the real app (`--app`) on the main database; "crowded": the same app on the
  crowded copy (only for list-crowded);
- "bare": bench/bare_app.py serving every read scenario's body, fetched from the real
  server the scenario reads from and checked byte for byte;
- "create": bench/create_ceiling.py (bench/ceiling_config.py makes its configuration);
- probes (bench/counted_app.py), one worker, one thread, started for the SQL counts only.

Each real server gets an instance folder of its own under the bench's temporary folder
(its broker file, agent state, secret key), so two of them never share one.
"""

import http.client
import json
from pathlib import Path

from bench import ceiling_config, scenarios
from tests.support.gunicorn import Gunicorn

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# One client sends thousands of requests a second: Linode's per-caller limits would
# answer 429, so they are off here (they are tested in tests/api/test_edge.py).
NO_RATE_LIMITS = {"RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off"}


def http_request(port, scenario, timeout=10.0):
    """(status, headers, body) of one request of `scenario` on loopback."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        body = scenario.body.encode() if scenario.body is not None else None
        conn.request(scenario.method, scenario.path, body=body, headers=scenario.headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def _gunicorn(name, app, env, args, workdir, *, pythonpath=None, workers=None, threads=None,
              ready_path=scenarios.TYPES):  # fmt: skip
    """A server of the bench: the measured ones get the same gunicorn settings."""
    log_path = Path(workdir) / f"{name}.log"
    return Gunicorn(env, workers=workers or args.workers, log_path=log_path, app=app,
                    threads=threads or args.threads, pythonpath=pythonpath, cwd=ROOT,
                    ready_path=ready_path, name=name)  # fmt: skip


def _real_env(url, workdir, name):
    folder = Path(workdir) / f"{name}-instance"
    folder.mkdir(exist_ok=True)
    return {"DATABASE_URL": url, "CLOUDAPI_INSTANCE_PATH": str(folder), **NO_RATE_LIMITS}


def start_real(stack, args, url, workdir, name):
    """Serve `args.app` on `url` until `stack` closes."""
    env = _real_env(url, workdir, name)
    return stack.enter_context(_gunicorn(name, args.app, env, args, workdir))


def start_probe(stack, args, url, workdir, name):
    """The real app with per-request SQL counts (bench/counted_app.py): 1 worker, 1 thread."""
    env = {**_real_env(url, workdir, name), "BENCH_REAL_APP": args.app}
    server = _gunicorn(name, "counted_app:create_app()", env, args, workdir,
                       pythonpath=BENCH, workers=1, threads=1)  # fmt: skip
    return stack.enter_context(server)


def fetch_bodies(specs, seeded, running):
    """Each read scenario's (real scenario, body, Content-Type), from its own real server."""
    found = []
    for spec in specs:
        if spec.ceiling != "bare":
            continue
        scenario = scenarios.real(spec, seeded)
        server = running[scenario.server]
        status, headers, body = http_request(server.port, scenario)
        if status != 200:
            raise RuntimeError(
                f"{scenario.method} {scenario.path} ({spec.key}) answered {status}: "
                f"{body[:300]!r}\nserver log:\n{server.log_tail()}"
            )
        found.append((spec, scenario, body, headers.get("Content-Type", "application/json")))
    return found


def start_bare(stack, args, workdir, bodies, seeded):
    """Serve every body from bench/bare_app.py; check each answers the same bytes."""
    manifest = []
    for spec, scenario, body, content_type in bodies:
        body_file = Path(workdir) / f"bare-{spec.key}.body"
        body_file.write_bytes(body)
        manifest.append({"path": scenario.path, "query": scenarios.bare_query(spec),
                         "file": str(body_file), "content_type": content_type})  # fmt: skip
    manifest_file = Path(workdir) / "bare-routes.json"
    manifest_file.write_text(json.dumps(manifest, indent=1))
    env = {"BENCH_BARE_ROUTES": str(manifest_file)}
    bare = stack.enter_context(
        _gunicorn(
            "bare",
            "bare_app:create_app()",
            env,
            args,
            workdir,
            pythonpath=BENCH,
            ready_path="/ready",
        )
    )
    for spec, _scenario, body, content_type in bodies:
        status, headers, served = http_request(bare.port, scenarios.ceiling(spec, seeded))
        if status != 200 or served != body:
            raise RuntimeError(f"the bare app does not serve {spec.key}'s bytes ({status})")
        if headers.get("Content-Type") != content_type:
            print(f"note: Content-Type differs between the real and the bare {spec.key}")
    return bare


def start_create_ceiling(stack, args, workdir, url, seeded, specs, real):
    """bench/create_ceiling.py on `url`, configured from one real create of each kind."""
    config = ceiling_config.build(url, seeded, specs, real, args.threads)
    config_file = Path(workdir) / "create-ceiling.json"
    config_file.write_text(json.dumps(config, indent=1))
    env = {"BENCH_CEILING_CONFIG": str(config_file)}
    server = _gunicorn("create", "bench.create_ceiling:create_app()", env, args, workdir,
                       ready_path="/ready")  # fmt: skip
    return stack.enter_context(server)


def start_servers(stack, args, urls, seeded, specs, workdir):
    """Every measured server the selection needs, ready; all stopped when `stack` closes."""
    need = scenarios.needs(specs)
    running = {"main": start_real(stack, args, urls["main"], workdir, "main")}
    if "crowded" in need:
        running["crowded"] = start_real(stack, args, urls["crowded"], workdir, "crowded")
    if "bare" in need:
        bodies = fetch_bodies(specs, seeded, running)
        running["bare"] = start_bare(stack, args, workdir, bodies, seeded)
        sizes = ", ".join(f"{spec.key} {len(body)}" for spec, _, body, _ in bodies)
        print(f"bare-bytes ceilings (bytes): {sizes}", flush=True)
    if "create-ceiling" in need:
        running["create"] = start_create_ceiling(
            stack, args, workdir, urls["main"], seeded, specs, running["main"]
        )
    ports = ", ".join(f"{name} :{server.port}" for name, server in running.items())
    print(f"servers ready: {ports}", flush=True)
    return running
