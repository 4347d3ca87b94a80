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
import hashlib
import json
import os
import signal
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REGION = "us-east"
ONE_GPU, FOUR_GPU = "g1-gpu-rtx6000-1", "g1-gpu-rtx6000-4"
BATCH = 2000
TARGET = 2.0


def _reexec_under_venv():
    """`python3 bench/placement_bench.py` works too: restart under .venv if needed."""
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        venv_python = ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
            os.execv(str(venv_python), [str(venv_python), *sys.argv])
        raise
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


_reexec_under_venv()

from sqlalchemy import event, insert, text  # noqa: E402

from cloudapi.db import Database  # noqa: E402
from cloudapi.db.base import utcnow  # noqa: E402
from cloudapi.db.instances import Instance  # noqa: E402
from cloudapi.db.inventory import Allocation, Gpu, Host, NumaNode  # noqa: E402
from cloudapi.db.migrate import throwaway_postgres, upgrade  # noqa: E402
from cloudapi.domain import lifecycle  # noqa: E402
from cloudapi.domain.cpus import parse_cpulist  # noqa: E402
from cloudapi.features import GPU_LINODES  # noqa: E402
from cloudapi.principal import Principal  # noqa: E402
from cloudapi.services import accounts, demo_hosts, instances  # noqa: E402
from cloudapi.services.catalog import Catalog  # noqa: E402

# --- throwaway databases -------------------------------------------------------------------


def admin_url(url):
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Shape:
    """One host as register() would store it, computed once from demo_hosts.describe()."""

    def __init__(self):
        desc = demo_hosts.describe("template", REGION)
        self.reserved_cpus = desc["reserved_cpus"]
        reserved = set(parse_cpulist(self.reserved_cpus))
        self.nodes = []
        for n in desc["numa_nodes"]:
            threads = [t for t in parse_cpulist(n["cpus"]) if t not in reserved]
            gpus = [g for g in desc["gpus"] if (g["numa_node"] or 0) == n["node"]]
            gpus.sort(key=lambda g: g["pci_address"])  # the order placement takes them in
            self.nodes.append((n, threads, gpus))


def taken_on_node0(i):
    """GPUs already held on node 0 of host i (1-based): 1..3 on every third host, else 0."""
    return (i // 3) % 3 + 1 if i % 3 == 0 else 0


def in_maintenance(i):
    return i % 20 == 7  # 5% of hosts


def _batched(session, table, rows, returning=False):
    """Insert rows in batches; with returning, their ids in the order given."""
    ids = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        if returning:
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids.extend(session.scalars(stmt, chunk))
        else:
            session.execute(insert(table), chunk)
    return ids


def fill(database, account_id, count, plan):
    """Bulk-insert `count` hosts, mirroring services.hosts.register(), plus held capacity.

    Each held GPU belongs to one running g1-gpu-rtx6000-1 instance with its Allocation
    (the next `plan.vcpus` free threads of node 0 and `plan.memory` MB), and node 0's
    counters and generation reflect it, as if reservations.reserve() had made them.
    """
    shape = Shape()
    now = utcnow()
    hosts_t, nodes_t, gpus_t = Host.__table__, NumaNode.__table__, Gpu.__table__
    inst_t, alloc_t = Instance.__table__, Allocation.__table__
    with database.transaction() as session:
        names = [f"gpu-{i:05d}.{REGION}" for i in range(1, count + 1)]
        host_rows = [
            {"hostname": name, "uuid": hashlib.sha1(name.encode()).hexdigest(),
             "region_id": REGION, "status": "maintenance" if in_maintenance(i) else "active",
             "reserved_cpus": shape.reserved_cpus, "created": now}
            for i, name in enumerate(names, start=1)
        ]  # fmt: skip
        host_ids = _batched(session, hosts_t, host_rows, returning=True)

        node_rows = []
        for i, host_id in enumerate(host_ids, start=1):
            for n, threads, gpus in shape.nodes:
                held = taken_on_node0(i) if n["node"] == 0 else 0
                node_rows.append({
                    "host_id": host_id, "node": n["node"], "cpus": n["cpus"],
                    "memory_mb": n["memory_mb"], "hugepages_1g": n["hugepages_1g"],
                    "hugepages_2m": n["hugepages_2m"], "gpus_total": len(gpus),
                    "gpus_free": len(gpus) - held, "threads_total": len(threads),
                    "threads_free": len(threads) - held * plan.vcpus,
                    "memory_free_mb": n["memory_mb"] - held * plan.memory, "generation": held,
                })  # fmt: skip
        node_ids = _batched(session, nodes_t, node_rows, returning=True)
        per_host = len(shape.nodes)

        instance_rows, holders = [], []  # holders: (host index, slot) per instance
        for i, host_row in enumerate(host_rows, start=1):
            for slot in range(taken_on_node0(i)):
                instance_rows.append({
                    "account_id": account_id, "label": f"seed-{i:05d}-{slot}",
                    "group_name": "", "type_id": plan.id, "region_id": REGION, "image_id": None,
                    "status": "running", "created": now, "updated": now, "deleted_at": None,
                    "host_uuid": host_row["uuid"], "has_user_data": False,
                    "watchdog_enabled": True, "backups_enabled": False, "private_ip": False,
                    "swap_size": 512, "disk_encryption": "disabled",
                    "maintenance_policy": "linode/migrate",
                    "alerts": lifecycle.default_alerts(plan.vcpus), "numa_affinity": "strict",
                    "host_id": host_ids[i - 1],
                })  # fmt: skip
                holders.append((i, slot))
        instance_ids = _batched(session, inst_t, instance_rows, returning=True)
        holder_of = dict(zip(holders, instance_ids, strict=True))

        gpu_rows, alloc_rows = [], []
        for i, host_id in enumerate(host_ids, start=1):
            for k, (n, threads, gpus) in enumerate(shape.nodes):
                node_id = node_ids[(i - 1) * per_host + k]
                held = taken_on_node0(i) if n["node"] == 0 else 0
                for slot, g in enumerate(gpus):
                    gpu_rows.append({
                        "host_id": host_id, "numa_node_id": node_id,
                        "pci_address": g["pci_address"], "vendor_id": g["vendor_id"],
                        "device_id": g["device_id"], "model": g["model"],
                        "iommu_group": g["iommu_group"],
                        "iommu_functions": g["iommu_functions"] or [g["pci_address"]],
                        "instance_id": holder_of[(i, slot)] if slot < held else None,
                    })  # fmt: skip
                for slot in range(held):
                    alloc_rows.append({
                        "instance_id": holder_of[(i, slot)], "host_id": host_id,
                        "numa_node_id": node_id, "gpu_count": 1,
                        "threads": threads[slot * plan.vcpus : (slot + 1) * plan.vcpus],
                        "memory_mb": plan.memory, "created": now, "released_at": None,
                    })  # fmt: skip
        _batched(session, gpus_t, gpu_rows)
        _batched(session, alloc_t, alloc_rows)
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))  # planner statistics, as autovacuum would leave them
    return {"hosts": len(host_ids), "nodes": len(node_ids), "gpus": len(gpu_rows),
            "instances": len(instance_ids), "allocations": len(alloc_rows)}  # fmt: skip


INVARIANTS = """
SELECT count(*) FROM numa_nodes n
LEFT JOIN (SELECT numa_node_id, count(*) AS total, count(*) FILTER (WHERE instance_id IS NULL)
           AS free FROM gpus GROUP BY numa_node_id) g ON g.numa_node_id = n.id
LEFT JOIN (SELECT numa_node_id, sum(gpu_count) AS gpus, sum(json_array_length(threads))
           AS threads, sum(memory_mb) AS memory FROM allocations WHERE released_at IS NULL
           GROUP BY numa_node_id) a ON a.numa_node_id = n.id
WHERE coalesce(g.total, 0) <> n.gpus_total OR coalesce(g.free, 0) <> n.gpus_free
   OR coalesce(a.gpus, 0) <> n.gpus_total - n.gpus_free
   OR coalesce(a.threads, 0) <> n.threads_total - n.threads_free
   OR coalesce(a.memory, 0) <> n.memory_mb - n.memory_free_mb
"""


def check_counters(database):
    """Nodes whose free counters disagree with their GPUs and live allocations (want 0)."""
    with database.reader() as session:
        return session.scalar(text(INVARIANTS))


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
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds):
    return seconds * 1000


# --- main ----------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000", help="host counts, comma-separated")
    parser.add_argument("--creates", type=int, default=40, help="timed 1-GPU creates per size")
    parser.add_argument("--warmups", type=int, default=5, help="untimed 1-GPU creates first")
    parser.add_argument("--four-gpu", type=int, default=3, help="timed 4-GPU creates per size")
    parser.add_argument("--explain", action="store_true", help="print full EXPLAIN ANALYZE plans")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument(
        "--admin-url", default=os.environ.get("CLOUDAPI_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL)
    )
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the throwaway databases are still dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    counts = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    if os.getloadavg()[0] > 1.0:
        print(f"note: load average {os.getloadavg()[0]:.2f} at start; figures will be noisy")

    with ExitStack() as stack:
        sizes = []
        for count in counts:
            admin = admin_url(args.admin_url)
            url = stack.enter_context(throwaway_postgres(admin, prefix="cloudapi_placebench"))
            size = Size(count, url)
            stack.callback(size.close)
            size.prepare()
            f = size.filled
            print(f"filled {count:>6} hosts in {size.fill_s:6.2f} s: {f['nodes']} nodes, "
                  f"{f['gpus']} GPUs, {f['instances']} running instances holding GPUs; "
                  f"nodes with inconsistent counters: {size.bad_nodes_after_fill}")  # fmt: skip
            sizes.append(size)

        # Round-robin over the sizes so that load on the machine hits every size alike.
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
        plans = {s.hosts: s.explain(text_plans=args.explain and s is sizes[-1]) for s in sizes}
        bad_nodes = {s.hosts: check_counters(s.database) for s in sizes}
        report = summarise(sizes, plans, bad_nodes, args)

    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")


def summarise(sizes, plans, bad_nodes, args):
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
        one = s.times[ONE_GPU]
        med = statistics.median(one)
        four = " ".join(f"{ms(t):.1f}" for t in s.times[FOUR_GPU]) or "-"
        row = {
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
        rows.append(row)
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

    largest, smallest = rows[-1], rows[0]
    ratio = largest["median_ms"] / smallest["median_ms"]
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print(f"\n{largest['hosts']:,}-host median / {smallest['hosts']:,}-host median = "
          f"{ratio:.2f} (target <= {TARGET}): {verdict}")  # fmt: skip

    big = plans[largest["hosts"]]
    print(f"\nEXPLAIN ANALYZE of the SELECTs of the last create at {largest['hosts']:,} hosts "
          f"(slowest first):")  # fmt: skip
    print(f"  {'exec ms':>8} {'rows read':>9}  statement")
    for exec_ms, read, sql, plan in big:
        print(f"  {exec_ms:8.3f} {read:>9}  {sql[:100]}{'...' if len(sql) > 100 else ''}")
        if plan:
            print("\n".join(f"      {line}" for line in plan))
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
