"""How the time of one GPU create (placement plus reservation) grows with the fleet.

For each size (10, 1,000 and 10,000 GPU hosts by default) it makes a throwaway PostgreSQL
database, migrates it, and bulk-inserts that many hosts in us-east, each shaped like
`cloudapi.services.demo_hosts.describe()` (two NUMA nodes, four RTX 6000 each): every third
host already has one to three GPUs of node 0 taken by running instances, and one host in
twenty is in maintenance. It then times `cloudapi.services.instances.create()` for a
g1-gpu-rtx6000-1 on each database in turn (round-robin, so machine noise hits every size
alike), and a few g1-gpu-rtx6000-4 creates. Target: the 10,000-host median within 2x of
the 10-host median, which holds only if placement does not load every host.

It also counts, per create, the SQL statements and the rows they return (an SQLAlchemy
"after_cursor_execute" listener), and EXPLAIN ANALYZEs the SELECTs of one create on the
largest database.

    .venv/bin/python bench/placement_bench.py [--sizes 10,1000,10000] [--creates 40]
"""

import argparse
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench` is a package
from bench import report, runtime

runtime.use_project_venv("sqlalchemy")

from sqlalchemy import event  # noqa: E402

from bench.placement_fill import REGION, check_counters, fill  # noqa: E402
from cloudapi.db import Database  # noqa: E402
from cloudapi.db.migrate import upgrade  # noqa: E402
from cloudapi.features import GPU_LINODES  # noqa: E402
from cloudapi.principal import Principal  # noqa: E402
from cloudapi.services import accounts, instances  # noqa: E402
from cloudapi.services.catalog import Catalog  # noqa: E402
from tests.support.databases import throwaway_postgres  # noqa: E402

ONE_GPU, FOUR_GPU = "g1-gpu-rtx6000-1", "g1-gpu-rtx6000-4"
TARGET = 2.0

# --- measuring -----------------------------------------------------------------------------


class SqlCounter:
    """Counts statements and returned rows on one engine; keeps the last statements seen."""

    def __init__(self, engine):
        self.enabled = True
        self.reset()
        event.listen(engine, "after_cursor_execute", self._after)

    def reset(self):
        self.statements, self.rows, self.largest, self.seen = 0, 0, 0, []

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if not self.enabled:
            return
        self.statements += 1
        if cursor.description is not None:  # a SELECT, or RETURNING
            returned = max(cursor.rowcount, 0)
            self.rows += returned
            self.largest = max(self.largest, returned)
        self.seen.append((statement, parameters))


class Size:
    """One database of `hosts` hosts, ready for creates."""

    def __init__(self, hosts, url):
        self.hosts, self.url = hosts, url
        self.database = Database(url)
        self.counter = SqlCounter(self.database.engine)
        self.times = {ONE_GPU: [], FOUR_GPU: []}
        self.statements, self.rows, self.largest = [], [], []

    def prepare(self):
        """Migrate, add the account, fill the hosts (not counted as SQL of a create)."""
        upgrade(self.url)
        with self.database.transaction() as session:
            account = accounts.create(session, "placebench@example.com")
            self.principal = Principal(
                token_id=0, account_id=account.id, username=account.username,
                email=account.email, tags=(), betas=(), scopes=frozenset({"*"}), is_admin=False,
            )  # fmt: skip
        self.catalog = Catalog(self.database, ttl=1e9)
        plan = self.catalog.snapshot().types[ONE_GPU]
        self.counter.enabled = False
        start = time.perf_counter()
        self.filled = fill(self.database, self.principal.account_id, self.hosts, plan)
        self.fill_s = time.perf_counter() - start
        self.bad_nodes_after_fill = check_counters(self.database)
        self.catalog.invalidate()  # gpu_regions now includes us-east
        self.snapshot = self.catalog.snapshot()
        self.counter.enabled = True

    def create(self, type_id, record=True):
        """Time one create; with `record`, keep its time and (1-GPU) SQL counts."""
        features = frozenset({GPU_LINODES})
        body = {"type": type_id, "region": REGION}
        self.counter.reset()
        start = time.perf_counter()
        instances.create(self.database, self.snapshot, self.principal, features, body)
        elapsed = time.perf_counter() - start
        if record:
            self.times[type_id].append(elapsed)
            if type_id == ONE_GPU:
                self.statements.append(self.counter.statements)
                self.rows.append(self.counter.rows)
                self.largest.append(self.counter.largest)
        return elapsed

    def explain(self, text_plans=False):
        """EXPLAIN ANALYZE each SELECT of the last create, slowest first.

        Each entry: (execution ms, rows the scans read, SQL, text plan or None). Rows read
        counts what PostgreSQL's scan nodes looked at (returned plus filtered out), so it
        shows a full scan even when only 16 rows reach Python.
        """
        selects = [(s, p) for s, p in self.counter.seen if s.lstrip().upper().startswith("SELECT")]
        self.counter.enabled = False
        plans = []
        with self.database.engine.connect() as conn:
            for statement, parameters in selects:
                (doc,) = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
                ).scalar_one()
                plan = None
                if text_plans:
                    rows = conn.exec_driver_sql("EXPLAIN ANALYZE " + statement, parameters)
                    plan = [r[0] for r in rows]
                sql = " ".join(statement.split())
                plans.append((doc["Execution Time"], _rows_read(doc["Plan"]), sql, plan))
            conn.rollback()
        self.counter.enabled = True
        return sorted(plans, key=lambda p: -p[0])

    def close(self):
        self.database.dispose()


def _rows_read(node):
    """Rows the scan nodes of an EXPLAIN (ANALYZE, FORMAT JSON) plan looked at."""
    own = 0
    if "Scan" in node["Node Type"]:
        seen = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        own = round(seen * node["Actual Loops"])
    return own + sum(_rows_read(child) for child in node.get("Plans", ()))


def percentile(values, q):
    """The q-quantile (0..1) of `values`, nearest rank: no interpolation between creates."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds):
    """Seconds in milliseconds, the unit the table prints."""
    return seconds * 1000


# --- main ----------------------------------------------------------------------------------


def parse_args():
    """The command line; see bench/README.md for what each option is for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000", help="host counts, comma-separated")
    parser.add_argument("--creates", type=int, default=40, help="timed 1-GPU creates per size")
    parser.add_argument("--warmups", type=int, default=5, help="untimed 1-GPU creates first")
    parser.add_argument("--four-gpu", type=int, default=3, help="timed 4-GPU creates per size")
    parser.add_argument("--explain", action="store_true", help="print full EXPLAIN ANALYZE plans")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    runtime.add_admin_url_option(parser)
    return parser.parse_args()


def prepare_sizes(stack, counts, admin_url):
    """One filled throwaway database per host count, each dropped when `stack` closes."""
    sizes = []
    for count in counts:
        url = stack.enter_context(throwaway_postgres(admin_url, prefix="cloudapi_placebench"))
        size = Size(count, url)
        stack.callback(size.close)
        size.prepare()
        f = size.filled
        print(f"filled {count:>6} hosts in {size.fill_s:6.2f} s: {f['nodes']} nodes, "
              f"{f['gpus']} GPUs, {f['instances']} running instances holding GPUs; "
              f"nodes with inconsistent counters: {size.bad_nodes_after_fill}")  # fmt: skip
        sizes.append(size)
    return sizes


def run_creates(sizes, args):
    """Warm-ups, 4-GPU then 1-GPU creates, round-robin so that machine noise hits all alike."""
    try:
        for _ in range(args.warmups):
            for size in sizes:
                size.create(ONE_GPU, record=False)
        for _ in range(args.four_gpu):
            for size in sizes:
                size.create(FOUR_GPU)
        for _ in range(args.creates):
            for size in sizes:
                size.create(ONE_GPU)
    except Exception as exc:
        reasons = getattr(exc, "errors", None) or exc
        sys.exit(f"a create failed: {reasons} (fewer --creates for small sizes?)")


def main():
    """Fill one database per size, time creates on all in turn, then report and drop them."""
    args = parse_args()
    runtime.stop_cleanly_on_signals()  # the throwaway databases are dropped even then
    counts = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    if os.getloadavg()[0] > 1.0:
        print(f"note: load average {os.getloadavg()[0]:.2f} at start; figures will be noisy")

    with ExitStack() as stack:
        sizes = prepare_sizes(stack, counts, runtime.admin_url(args.admin_url))
        run_creates(sizes, args)
        plans = {s.hosts: s.explain(text_plans=args.explain and s is sizes[-1]) for s in sizes}
        bad_nodes = {s.hosts: check_counters(s.database) for s in sizes}
        doc = summarise(sizes, plans, bad_nodes, args)

    if args.json:
        print()
        report.write_json(args.json, doc)


def size_row(s, base, plans, bad_nodes):
    """The figures of one size, as the table prints them and --json writes them."""
    one = s.times[ONE_GPU]
    med = statistics.median(one)
    return {
        "hosts": s.hosts, "fill_s": round(s.fill_s, 3), "median_ms": round(ms(med), 3),
        "p90_ms": round(ms(percentile(one, 0.9)), 3), "ratio": round(med / base, 3),
        "four_gpu_ms": [round(ms(t), 3) for t in s.times[FOUR_GPU]],
        "statements_per_create": statistics.median(s.statements),
        "rows_per_create": statistics.median(s.rows),
        "max_rows_one_statement": max(s.largest),
        "pg_rows_read_last_create": sum(p[1] for p in plans[s.hosts]),
        "pg_select_ms_last_create": round(sum(p[0] for p in plans[s.hosts]), 3),
        "filled": s.filled,
        "inconsistent_nodes_after_fill": s.bad_nodes_after_fill,
        "inconsistent_nodes_at_end": bad_nodes[s.hosts],
    }  # fmt: skip


def print_sizes(sizes, plans, bad_nodes, args):
    """The table, one row per size; returns the rows."""
    base = statistics.median(sizes[0].times[ONE_GPU])
    print(f"\n{ONE_GPU} create in {REGION}, {args.creates} timed after {args.warmups} warm-ups "
          f"per size (round-robin over sizes)")  # fmt: skip
    header = (f"{'hosts':>6} {'fill s':>7} {'median ms':>10} {'p90 ms':>8} {'x base':>9} "
              f"{'4-GPU ms (each)':<20} {'stmts':>5} {'rows/create':>11} {'max rows':>8} "
              f"{'pg rows read':>12}")  # fmt: skip
    print(header)
    print("-" * len(header))
    rows = []
    for s in sizes:
        row = size_row(s, base, plans, bad_nodes)
        rows.append(row)
        four = " ".join(f"{ms(t):.1f}" for t in s.times[FOUR_GPU]) or "-"
        print(f"{s.hosts:>6} {s.fill_s:>7.2f} {row['median_ms']:>10.2f} {row['p90_ms']:>8.2f} "
              f"{row['ratio']:>9.2f} {four:<20} {row['statements_per_create']:>5g} "
              f"{row['rows_per_create']:>11g} {row['max_rows_one_statement']:>8} "
              f"{row['pg_rows_read_last_create']:>12}")  # fmt: skip
    print("stmts, rows/create: median per 1-GPU create of SQL statements and of the rows they "
          "returned to Python;\nmax rows: the most any one statement returned; pg rows read: "
          "rows PostgreSQL's scans looked at\nfor the SELECTs of the last create (EXPLAIN "
          "ANALYZE), filtered-out rows included")  # fmt: skip
    print(f"nodes with inconsistent counters at the end: "
          f"{', '.join(f'{h} hosts: {n}' for h, n in bad_nodes.items())}")  # fmt: skip
    return rows


def print_plans(hosts, found):
    """The SELECTs of the last create at `hosts` hosts, slowest first, with their plans."""
    print(f"\nEXPLAIN ANALYZE of the SELECTs of the last create at {hosts:,} hosts "
          f"(slowest first):")  # fmt: skip
    print(f"  {'exec ms':>8} {'rows read':>9}  statement")
    for exec_ms, read, sql, plan in found:
        print(f"  {exec_ms:8.3f} {read:>9}  {sql[:100]}{'...' if len(sql) > 100 else ''}")
        if plan:
            print("\n".join(f"      {line}" for line in plan))


def summarise(sizes, plans, bad_nodes, args):
    """Print the table, the verdict and the largest size's plans; return the JSON document."""
    rows = print_sizes(sizes, plans, bad_nodes, args)
    largest, smallest = rows[-1], rows[0]
    ratio = largest["median_ms"] / smallest["median_ms"]
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print(f"\n{largest['hosts']:,}-host median / {smallest['hosts']:,}-host median = "
          f"{ratio:.2f} (target <= {TARGET}): {verdict}")  # fmt: skip
    print_plans(largest["hosts"], plans[largest["hosts"]])
    return {
        "sizes": rows, "ratio": round(ratio, 3), "target": TARGET, "verdict": verdict,
        "creates": args.creates, "warmups": args.warmups, "load_average": os.getloadavg(),
        "explain": {
            hosts: [{"ms": m, "rows_read": r, "sql": q, "plan": p} for m, r, q, p in found]
            for hosts, found in plans.items()
        },
    }  # fmt: skip


if __name__ == "__main__":
    main()
