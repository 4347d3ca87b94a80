#!/usr/bin/env python3
"""HTTP benchmark: the real cloudapi app under gunicorn, each scenario against its own ceiling.

Run from the repository root after bin/setup:

    .venv/bin/python bench/http_bench.py [--duration 6] [--rounds 1] [--only list,events]
                                         [--connections 16] [--workers 2] [--threads 4]
                                         [--json out.json]

What it does (see bench/README.md):

1. creates a throwaway PostgreSQL database ``cloudapi_bench_<random>``, migrates it and
   seeds it (bench/seed.py, bench/bulk.py, bench/fleet.py); for the crowded-database
   scenario, a file copy of it gets 100 more accounts of 1,000 instances;
2. serves the real app with gunicorn, and beside it each scenario's ceiling under the same
   gunicorn settings: for a read, a bare Flask app serving the exact bytes the real app
   answered (bench/bare_app.py); for a create, a bare Flask app writing the same rows with
   raw psycopg (bench/create_ceiling.py) (bench/servers.py);
3. measures each scenario and its ceiling back to back, the pair's order flipping every
   round, with wrk (a Python load generator otherwise) after a warm-up (bench/load.py,
   bench/wrk.py, bench/balance.py);
4. counts each scenario's SQL per request on a probe server (bench/probe.py,
   bench/counted_app.py) and reads the workers' peak RSS;
5. prints the table and PASS/MISS per target of issue 15 (bench/report.py,
   bench/verdicts.py).

The databases are dropped and every server's process group is killed at the end, on error
too. It always exits 0 once the measurements ran: it is a benchmark, not a test.
"""

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench` is a package
from bench import runtime

runtime.use_project_venv("gunicorn", "sqlalchemy", "psycopg")

from sqlalchemy import create_engine  # noqa: E402

from bench import ceiling_sql, fleet, load, probe, report, scenarios, seed, servers  # noqa: E402
from bench import verdicts as targets  # noqa: E402
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
    keys = ",".join(scenarios.KEYS)
    p.add_argument("--only", metavar="KEYS", help=f"comma-separated scenarios, of: {keys} (all)")
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
    try:
        args.specs = scenarios.select(args.only)
    except ValueError as exc:
        p.error(str(exc))
    args.duration = int(args.duration) if args.duration == int(args.duration) else args.duration
    args.warmup = int(args.warmup) if args.warmup == int(args.warmup) else args.warmup
    return args


def print_setting(args, wrk):
    """The settings line, and a warning when the machine is already busy."""
    loadgen = f"wrk {args.wrk_threads} thread(s)" if wrk else "python"
    print(
        f"cpus {os.cpu_count()}, gunicorn --workers {args.workers} --threads {args.threads}, "
        f"{args.connections} connections, {args.warmup}s warm-up + {args.duration}s per run, "
        f"load generator {loadgen}; scenarios: {','.join(s.key for s in args.specs)}",
        flush=True,
    )
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        print(
            f"note: load average {load_before:.2f} before starting (other processes, or a run "
            "just before): expect noisy figures (see the spreads; try --rounds 3)",
            flush=True,
        )
    return load_before


def prepare(stack, args, workdir):
    """The databases, seeded: ({"main": url[, "crowded": url]}, Seeded)."""
    need = scenarios.needs(args.specs)
    admin = runtime.admin_url(args.admin_url)
    urls = {"main": stack.enter_context(throwaway_postgres(admin, prefix="cloudapi_bench"))}
    began = time.monotonic()
    upgrade(urls["main"])
    seeded = seed.seed(urls["main"], need)
    print(f"seeded main database in {time.monotonic() - began:.1f}s: accounts "
          f"{seeded.accounts}; fleet {seeded.fleet or 'none'}", flush=True)  # fmt: skip
    if "crowded" in need:
        began = time.monotonic()
        urls["crowded"] = stack.enter_context(seed.copy_of(urls["main"]))
        seed.crowd(urls["crowded"])
        print(f"crowded copy: +{seed.CROWD_ACCOUNTS} accounts x {seed.CROWD_INSTANCES} "
              f"instances in {time.monotonic() - began:.1f}s", flush=True)  # fmt: skip
    return urls, seeded


class FleetReset:
    """The GPU runs' `before`: wait for the last creates, check the counters the run left
    (the app's and the ceiling's writes alike: want 0 out of step), put the fleet back."""

    def __init__(self, url, account_id):
        self.engine, self.account_id = create_engine(url), account_id
        self.free, self.out_of_step, self.not_quiet = None, 0, 0

    def __call__(self):
        self.not_quiet += not fleet.wait_quiet(self.engine)
        self.out_of_step = max(self.out_of_step, fleet.out_of_step(self.engine))
        self.free = fleet.reset(self.engine, self.account_id)


def print_fleet(reset):
    """What the GPU runs left: free GPUs after a reset, and counters out of step."""
    late = f"; {reset.not_quiet} reset(s) began before the last creates ended" * bool(
        reset.not_quiet
    )
    print(
        f"fleet: {reset.free} free GPUs on active hosts at the start of each GPU run; after "
        f"a run, at most {reset.out_of_step} NUMA node(s) whose counters disagreed with "
        f"their GPUs and allocations (want 0){late}",
        flush=True,
    )


def measure_rounds(args, wrk, running, seeded, urls, workdir):
    """Every selected scenario and its ceiling, round after round: the runs' Results."""
    results = []
    gpu = "fleet" in scenarios.needs(args.specs)
    reset = FleetReset(urls["main"], seeded.accounts["gpu"]) if gpu else None
    try:
        for round_no in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"round {round_no}/{args.rounds}", flush=True)
            for scenario in scenarios.round_order(args.specs, seeded, round_no):
                server = running[scenario.server]
                server.check_alive()
                before = reset if scenarios.BY_KEY[scenario.key].gpu else None
                try:
                    results.append(
                        load.measure(wrk, scenario, server, args, workdir, before=before)
                    )
                except RuntimeError as exc:
                    raise RuntimeError(f"{exc}\n{server.name} log:\n{server.log_tail()}") from None
        if reset is not None:
            reset()
            print_fleet(reset)
    finally:
        if reset is not None:
            reset.engine.dispose()
    return results


def count_sql(stack, args, seeded, urls, workdir, summaries):
    """Fill in each summary's SQL per request: the probe's for real, known for ceilings."""
    probes = {}
    if any(spec.gpu for spec in args.specs):
        reset = FleetReset(urls["main"], seeded.accounts["gpu"])
        stack.callback(reset.engine.dispose)
    for spec in args.specs:
        real = summaries.get((spec.key, "real"))
        if real is None:
            continue
        if spec.database not in probes:
            probes[spec.database] = servers.start_probe(
                stack, args, urls[spec.database], workdir, f"probe-{spec.database}"
            )
        if spec.gpu:
            reset()
        real.sql = probe.sql_per_request(probes[spec.database], scenarios.real(spec, seeded))
        if real.sql["failed"]:
            print(f"note: SQL probe of {spec.key}: {real.sql['failed']} request(s) failed, the "
                  f"first: {real.sql['first_failure']}\nprobe log:\n"
                  f"{probes[spec.database].log_tail(1500)}", flush=True)  # fmt: skip
        ceiling = summaries.get((spec.key, "ceiling"))
        if ceiling is not None and spec.ceiling == "bare":
            ceiling.sql = {"statements": 0, "rows": 0, "written": 0}
        elif ceiling is not None:
            kind, tags = "gpu" if spec.gpu else "standard", json.loads(spec.body).get("tags", [])
            ceiling.sql = {"statements": ceiling_sql.STATEMENTS[kind],
                           "rows": ceiling_sql.rows_read(kind),
                           "written": ceiling_sql.rows_written(kind, len(tags))}  # fmt: skip


def run(args, wrk, workdir):
    """Prepare, serve, measure, probe: (results, summaries, rss, instance counts)."""
    with contextlib.ExitStack() as stack:
        urls, seeded = prepare(stack, args, workdir)
        with contextlib.ExitStack() as serving:
            running = servers.start_servers(serving, args, urls, seeded, args.specs, workdir)
            results = measure_rounds(args, wrk, running, seeded, urls, workdir)
            rss = {name: probe.peak_rss_mib(server) for name, server in running.items()}
        summaries = report.summarise(results)
        with contextlib.ExitStack() as probing:
            count_sql(probing, args, seeded, urls, workdir, summaries)
        counts = seed.count_instances(urls["main"])
    return results, summaries, rss, counts, seeded


def main(argv=None):
    """Measure every scenario, then print the table and verdicts; 0 once it has measured."""
    args = parse_args(argv)
    runtime.stop_cleanly_on_signals()
    wrk = None if args.loadgen == "python" else load.find_wrk(required=args.loadgen == "wrk")
    if wrk and not float(args.duration).is_integer():
        args.duration = max(1, round(args.duration))  # wrk wants whole seconds
    load_before = print_setting(args, wrk)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cloudapi-bench-") as workdir:
        results, summaries, rss, (total, live), seeded = run(args, wrk, workdir)

    report.print_table(summaries)
    report.print_rss(rss)
    print()
    verdicts = targets.evaluate(summaries)
    for verdict in verdicts:
        print(verdict.line())
    left_out = targets.not_measured(summaries)
    if left_out:
        print(f"(targets of {', '.join(left_out)} not measured: not in --only)")
    print(
        f"\ninstances table at the end of the main database: {total} rows ({live} live); "
        f"whole run {time.monotonic() - began:.0f}s"
    )
    if args.json:
        figures = {"load_average_at_start": load_before, "summary": summaries, "runs": results,
                   "targets": verdicts, "rss_mib": rss, "seeded": seed.to_json(seeded),
                   "instances_rows": {"total": total, "live": live}}  # fmt: skip
        report.write_json(args.json, report.http_doc(args, "wrk" if wrk else "python", figures))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped, databases dropped", file=sys.stderr)
        sys.exit(130)
