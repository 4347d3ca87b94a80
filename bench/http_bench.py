#!/usr/bin/env python3
"""HTTP benchmark: the real cloudapi app under gunicorn against a bare-Flask ceiling.

Run from the repository root after bin/setup:

    .venv/bin/python bench/http_bench.py [--duration 6] [--connections 16]
                                         [--workers 2] [--threads 4] [--json out.json]

What it does (see bench/README.md):

1. creates a throwaway PostgreSQL database ``cloudapi_bench_<random>``, migrates it with
   alembic, seeds one customer account, a token and 100 instances (bench/seed.py);
2. serves the real app (``cloudapi:create_app()``) with gunicorn on a free loopback port,
   fetches its ``GET /v4/linode/types`` body, and serves those same bytes from a bare Flask
   app (bench/bare_app.py) under the same gunicorn settings: the framework's ceiling
   (bench/servers.py);
3. drives each with wrk (bin/system-packages installs it; a Python load generator
   otherwise) after a short warm-up (bench/load.py, bench/wrk.py, bench/balance.py);
4. prints requests/s, p50, p99 and the ratio to the ceiling, with PASS/MISS for the targets
   (bench/report.py).

The database is dropped and every server's process group is killed at the end, on error
too. It always exits 0 once the measurements ran: it is a benchmark, not a test.
"""

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench` is a package
from bench import runtime

runtime.use_project_venv("gunicorn", "sqlalchemy")

from bench import load, report, seed, servers  # noqa: E402
from bench.load import Scenario  # noqa: E402
from cloudapi.db.migrate import upgrade  # noqa: E402
from tests.support.databases import throwaway_postgres  # noqa: E402


def parse_args(argv=None):
    """The command line; see bench/README.md for what each option is for."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=6.0, help="seconds per measurement (6)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds, discarded (2)")
    p.add_argument("--connections", type=int, default=16, help="open connections (16)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn --workers (2)")
    p.add_argument("--threads", type=int, default=4, help="gunicorn --threads (4)")
    p.add_argument(
        "--rounds", type=int, default=1, help="repeat every scenario; report medians (1)"
    )
    p.add_argument("--wrk-threads", type=int, default=1,
                   help="wrk -t (1: leaves the cores to the server)")  # fmt: skip
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                   help="auto: wrk (from bin/system-packages) if on PATH, else Python")  # fmt: skip
    runtime.add_admin_url_option(p)
    p.add_argument("--app", default="cloudapi:create_app()",
                   help="gunicorn app spec of the real server, to try a variant "
                        "(PYTHONPATH is passed on)")  # fmt: skip
    p.add_argument("--no-balance", dest="balance", action="store_false",
                   help="keep a run even when one gunicorn worker took (nearly) all the "
                        "connections")  # fmt: skip
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    args = p.parse_args(argv)
    if min(args.connections, args.workers, args.threads, args.rounds) < 1 or args.duration <= 0:
        p.error("--duration, --connections, --workers, --threads and --rounds must be positive")
    args.duration = int(args.duration) if args.duration == int(args.duration) else args.duration
    args.warmup = int(args.warmup) if args.warmup == int(args.warmup) else args.warmup
    return args


def scenarios(auth):
    """What one round measures, in order.

    The ceiling brackets the two scenarios the targets compare with it, so that drift in
    what else the machine is doing shows in its spread. The list runs before the create,
    so the first round lists exactly the seeded instances.
    """
    ceiling = Scenario("bare flask ceiling", "bare", "GET", servers.TYPES)
    json_auth = {**auth, "Content-Type": "application/json"}
    return [
        ceiling,
        Scenario("types anonymous", "real", "GET", servers.TYPES),
        Scenario("types authenticated", "real", "GET", servers.TYPES, auth),
        ceiling,
        Scenario("instances list", "real", "GET", "/v4/linode/instances", auth),
        Scenario(
            "instances create", "real", "POST", "/v4/linode/instances", json_auth, seed.CREATE_BODY
        ),
    ]


def print_setting(args, wrk):
    """The settings line, and a warning when the machine is already busy."""
    loadgen = f"wrk {args.wrk_threads} thread(s)" if wrk else "python"
    print(
        f"cpus {os.cpu_count()}, gunicorn --workers {args.workers} --threads {args.threads}, "
        f"{args.connections} connections, {args.warmup}s warm-up + {args.duration}s per run, "
        f"load generator {loadgen}",
        flush=True,
    )
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        print(
            f"note: load average {load_before:.2f} before starting (other processes, or a run "
            "just before): expect noisy figures (see the ceiling's spread; try --rounds 3)",
            flush=True,
        )
    return load_before


def run_rounds(args, wrk, url, workdir):
    """Seed `url`, serve it and the ceiling, and measure every scenario of every round."""
    upgrade(url)
    auth = {"Authorization": f"Bearer {seed.seed(url)}"}
    print(f"seeded 1 account, 1 token, {seed.SEED_INSTANCES} instances", flush=True)
    results = []
    with contextlib.ExitStack() as stack:
        running = servers.start_servers(stack, args, url, auth, workdir)
        for round_no in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"round {round_no}/{args.rounds}", flush=True)
            for scenario in scenarios(auth):
                server = running[scenario.server]
                server.check_alive()
                try:
                    results.append(load.measure(wrk, scenario, server, args, workdir))
                except RuntimeError as exc:
                    log = server.log_tail()
                    raise RuntimeError(f"{exc}\n{server.name} server log:\n{log}") from None
    return results


def main(argv=None):
    """Measure every scenario, then print the table and verdicts; 0 once it has measured."""
    args = parse_args(argv)
    runtime.stop_cleanly_on_signals()
    wrk = None if args.loadgen == "python" else load.find_wrk(required=args.loadgen == "wrk")
    if wrk and not float(args.duration).is_integer():
        args.duration = max(1, round(args.duration))  # wrk wants whole seconds
    load_before = print_setting(args, wrk)
    with (
        tempfile.TemporaryDirectory(prefix="cloudapi-bench-") as workdir,
        throwaway_postgres(runtime.admin_url(args.admin_url), prefix="cloudapi_bench") as url,
    ):
        results = run_rounds(args, wrk, url, workdir)
        total, live = seed.count_instances(url)

    summaries, ceiling = report.summarise(results)
    report.print_table(summaries, ceiling)
    print()
    verdicts = report.check_targets(summaries)
    print(
        f"\ninstances table at the end: {total} rows ({live} live; "
        f"{seed.SEED_INSTANCES} seeded, the rest from the create runs, warm-up included)"
    )
    if args.json:
        figures = {"load_average_at_start": load_before, "ceiling_rps": ceiling,
                   "summary": summaries, "runs": results, "targets": verdicts,
                   "instances_rows": {"total": total, "live": live}}  # fmt: skip
        report.write_json(args.json, report.http_doc(args, "wrk" if wrk else "python", figures))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped, database dropped", file=sys.stderr)
        sys.exit(130)
