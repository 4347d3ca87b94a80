"""Flip-to-visible: how long a flag flip, and an account's new tag, take to reach every
worker of every API process on the embedded default (no UNLEASH_URL).

For each database (SQLite file, throwaway PostgreSQL) it migrates, seeds two GPU hosts,
a customer account and an account to tag, starts two `cloudapi serve` processes of two
workers each on it, and flips `gpu-linodes-launch` on and off (50 times by default),
then tags and untags the account `employee`, from this process straight to the database
as `cloudapi flags enable` and `cloudapi accounts tag` do. Around each change it probes
both servers from many threads until every worker (known from the access log, which
names the worker of each probe) answers in the new state: the measurement of
tests/integration/test_flip_latency.py, over more changes. It prints p50, p99 and max
per database, and p99 as a share of the 1 s target.

`--databases unleash` measures server mode instead (PostgreSQL, a real Unleash server
started by tests/support/unleash.py, UNLEASH_REFRESH_INTERVAL=1, the SDK's least: it takes
whole seconds): the floor a flip meets there, where the SDK polls the server.

    .venv/bin/python bench/flip_bench.py [--flips 50] [--tags 10] [--databases sqlite,postgresql]
"""

import argparse
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench` is a package
from bench import runtime

runtime.use_project_venv("flask", "sqlalchemy", "requests")

from cloudapi import create_app  # noqa: E402
from cloudapi.db import Database  # noqa: E402
from cloudapi.db.migrate import upgrade  # noqa: E402
from cloudapi.services import accounts, hosts, tokens  # noqa: E402
from cloudapi.services.demo_hosts import describe  # noqa: E402
from tests.integration.test_flip_latency import (  # noqa: E402
    TARGET,
    Probes,
    measure,
    percentile,
    servers_on,
    writers,
)
from tests.support.databases import throwaway_postgres  # noqa: E402
from tests.support.gunicorn import CLOUDAPI  # noqa: E402


def seed(url):
    """Two GPU hosts, a customer's token, and an account to tag with its token."""
    database = Database(url)
    try:
        with database.transaction() as session:
            for name in ("gpu-1.us-east", "gpu-2.us-east"):
                hosts.register(session, describe(name, "us-east", 2, 4))
            customer = accounts.create(session, "customer@example.com")
            tagged = accounts.create(session, "to-tag@example.com")
            return {
                "customer": tokens.create(session, account_id=customer.id),
                "tagged_id": tagged.id,
                "tagged": tokens.create(session, account_id=tagged.id),
            }
    finally:
        database.dispose()


def unleash_env(stack, url, workdir):
    """Server mode: a real Unleash server for this run, flags/ synced to it (launch off)."""
    from tests.support.unleash import UnleashServer

    unleash = stack.enter_context(UnleashServer(run_dir=Path(workdir) / "unleash"))
    env = {"UNLEASH_URL": unleash.url, "UNLEASH_API_TOKEN": unleash.client_token,
           "UNLEASH_ADMIN_TOKEN": unleash.admin_token, "UNLEASH_REFRESH_INTERVAL": "1",
           "UNLEASH_DISABLE_METRICS": "1"}  # fmt: skip
    subprocess.run([CLOUDAPI, "flags", "sync"], env={**os.environ, **env, "DATABASE_URL": url},
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    return env


def run(url, args, workdir, extra_env=None):
    """Migrate and seed `url`, serve it, run the flips and tag changes: their (s, s) pairs."""
    upgrade(url)
    seeded = seed(url)
    # The writer: the app as the CLI builds it (no flag client), its own instance folder.
    config = {"DATABASE_URL": url, "FLAGS_ENABLED": False,
              "INSTANCE_PATH": str(Path(workdir) / "writer"), **(extra_env or {})}  # fmt: skip
    app = create_app(config)
    flip, tag = writers(app, seeded["tagged_id"])
    try:
        with servers_on(url, Path(workdir), args.servers, args.workers, extra_env) as servers:
            probes = Probes(servers, args.workers)
            workers = probes.workers(seeded["customer"])
            print(f"  {len(workers)} workers answering; flipping", flush=True)
            flips = measure(probes, workers, seeded["customer"], flip, args.flips)
            tags = measure(probes, workers, seeded["tagged"], tag, args.tags)
    finally:
        app.extensions["cloudapi.db"].dispose()
    return flips, tags


def line(backend, name, timed):
    ms = [1000 * latency for latency, _ in timed]
    write = percentile([1000 * took for _, took in timed], 0.5)
    p99 = percentile(ms, 0.99)
    verdict = "PASS" if p99 < 1000 * TARGET else "MISS"
    share = p99 / (1000 * TARGET)
    return (f"{backend:<11} {name:<6} {len(ms):>4} {percentile(ms, 0.5):>8.0f} {p99:>8.0f} "
            f"{max(ms):>8.0f} {write:>8.0f} {share:>9.2f}x  {verdict}")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flips", type=int, default=50)
    parser.add_argument("--tags", type=int, default=10, help="tag changes (add, remove, ...)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--servers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--workers", type=int, default=2, help="workers per process")
    runtime.add_admin_url_option(parser)
    args = parser.parse_args()
    runtime.stop_cleanly_on_signals()
    rows = []
    for backend in args.databases.split(","):
        print(f"{backend}: {args.servers} servers x {args.workers} workers", flush=True)
        with tempfile.TemporaryDirectory() as workdir, ExitStack() as stack:
            extra_env = None
            if backend == "sqlite":
                url = f"sqlite:///{workdir}/flips.sqlite"
            else:
                admin = runtime.admin_url(args.admin_url)
                url = stack.enter_context(throwaway_postgres(admin, prefix="cloudapi_flipbench"))
            if backend == "unleash":
                upgrade(url)  # `flags sync` records its audit in the database
                extra_env = unleash_env(stack, url, workdir)
            flips, tags = run(url, args, workdir, extra_env)
        rows += [line(backend, "flips", flips), line(backend, "tags", tags)]
    print(f"\n{'database':<11} {'change':<6} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'write ms':>8} {'p99/1 s':>10}")  # fmt: skip
    print("\n".join(rows))
    print(
        "(latency: from the change's commit until every worker answers in the new state; "
        "'write': the median time of the write before it, not included)"
    )


if __name__ == "__main__":
    main()
