#!/usr/bin/env python3
"""HTTP benchmark: the real cloudapi app under gunicorn against a bare-Flask ceiling.

Run from the repository root after bin/setup:

    .venv/bin/python bench/http_bench.py [--duration 6] [--connections 16]
                                         [--workers 2] [--threads 4] [--json out.json]

What it does (see bench/README.md):

1. creates a throwaway PostgreSQL database ``cloudapi_bench_<random>``, migrates it with
   alembic, seeds one customer account, a token and 100 instances;
2. serves the real app (``cloudapi:create_app()``) with gunicorn on a free loopback port,
   fetches its ``GET /v4/linode/types`` body, and serves those same bytes from a bare Flask
   app (bench/bare_app.py) under the same gunicorn settings: the framework's ceiling;
3. drives each with wrk (installed with apt-get when missing; a Python load generator
   otherwise) after a short warm-up;
4. prints requests/s, p50, p99 and the ratio to the ceiling, with PASS/MISS for the targets.

The database is dropped and every server's process group is killed at the end, on error
too. It always exits 0 once the measurements ran: it is a benchmark, not a test.
"""

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cloudapi.db.migrate import throwaway_postgres, upgrade

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
MIGRATIONS = ROOT / "migrations"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SEED_INSTANCES = 100
CREATE_BODY = '{"type":"g6-standard-2","region":"us-east"}'
TARGETS = (
    # (scenario, minimum ratio of its req/s to the bare-Flask ceiling)
    ("types anonymous", 0.8),
    ("types authenticated", 0.5),
)


# --------------------------------------------------------------------------- database


def _normalise(url):
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def seed(url, instances_wanted=SEED_INSTANCES):
    """Add one customer account with a token and `instances_wanted` instances; return the token."""
    from cloudapi.db import Database
    from cloudapi.features import FailClosed
    from cloudapi.principal import Principal
    from cloudapi.services import accounts, instances, tokens
    from cloudapi.services.catalog import Catalog

    database = Database(url)
    try:
        with database.transaction() as session:
            account = accounts.create(session, "bench@example.com")
            token = tokens.create(session, account_id=account.id, label="bench")
        principal = Principal(**tokens.lookup(database, token))
        snapshot = Catalog(database, ttl=3600).snapshot()
        features = FailClosed().features_for(principal)
        body = json.loads(CREATE_BODY)
        for _ in range(instances_wanted):
            instances.create(database, snapshot, principal, features, dict(body))
    finally:
        database.dispose()
    return token


def count_instances(url):
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM instances")).scalar_one()
            live = conn.execute(
                text("SELECT count(*) FROM instances WHERE deleted_at IS NULL")
            ).scalar_one()
    finally:
        engine.dispose()
    return total, live


# --------------------------------------------------------------------------- servers


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port, path, headers=None, timeout=5.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


class Server:
    """A gunicorn in its own process group, killed as a group on stop()."""

    def __init__(self, name, app_spec, *, workers, threads, env, workdir, pythonpath=None):
        self.name = name
        self.port = free_port()
        self.log_path = Path(workdir) / f"{name}.log"
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            app_spec,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ]
        if pythonpath:
            cmd[4:4] = ["--pythonpath", str(pythonpath)]
        self.cmd = cmd
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: workers die with it
        )

    def wait_ready(self, path, timeout=60.0):
        """Poll `path` until it answers 200; fail early if gunicorn exits."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}\n{self.log()}")
            try:
                status, _, _ = http_get(self.port, path, timeout=2.0)
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {timeout}s ({last})\n{self.log()}")

    def worker_pids(self):
        """The arbiter's children, read from /proc (Linux)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                pids.append(int(entry))
        return pids

    def connection_split(self):
        """Established connections each worker holds, most first; None without /proc."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                rows = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                cols = row.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if state == "01" and int(local.rsplit(":", 1)[1], 16) == self.port:
                    inodes.add(inode)
        if not inodes and not Path("/proc/net/tcp").exists():
            return None
        split = []
        for pid in self.worker_pids():
            held = 0
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        link = os.readlink(f"/proc/{pid}/fd/{fd}")
                        held += link.startswith("socket:[") and link[8:-1] in inodes
            split.append(held)
        return sorted(split, reverse=True)

    def check_alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"the {self.name} server exited with {self.proc.returncode}; its log:\n{self.log()}"
            )

    def log(self, tail=4000):
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        # Workers share the group; make sure none outlives the arbiter.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._log.close()


# --------------------------------------------------------------------------- load


@dataclass
class Scenario:
    name: str
    server: str  # "real" or "bare"
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: str | None = None


@dataclass
class Result:
    scenario: str
    server: str
    method: str
    path: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors plus non-2xx/3xx answers
    loadgen: str
    # Connections each gunicorn worker held during the run, and how many starts it took
    # to get a balanced split (see balanced()).
    conn_split: list | None = None
    attempts: int = 1
    balanced: bool = True


@dataclass
class Summary:
    """One scenario over all its runs: medians, with the spread of req/s."""

    scenario: str
    server: str
    runs: int
    rps: float
    rps_min: float
    rps_max: float
    p50_ms: float
    p99_ms: float
    errors: int
    unbalanced: int  # runs kept although one worker held (nearly) all the connections
    ratio: float | None = None


def summarise(results):
    """Group runs by scenario (first-seen order); take medians across each group's runs."""
    groups = {}
    for r in results:
        groups.setdefault(r.scenario, []).append(r)
    return [
        Summary(
            scenario=name,
            server=runs[0].server,
            runs=len(runs),
            rps=statistics.median(r.rps for r in runs),
            rps_min=min(r.rps for r in runs),
            rps_max=max(r.rps for r in runs),
            p50_ms=statistics.median(r.p50_ms for r in runs),
            p99_ms=statistics.median(r.p99_ms for r in runs),
            errors=sum(r.errors for r in runs),
            unbalanced=sum(not r.balanced for r in runs),
        )
        for name, runs in groups.items()
    ]


def ensure_wrk(allow_install):
    found = shutil.which("wrk")
    if found or not allow_install:
        return found
    if os.geteuid() != 0:
        print("wrk not found and not root: using the Python load generator", flush=True)
        return None
    print("wrk not found: installing it with apt-get", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    try:
        if subprocess.run(install, env=env, timeout=300, **quiet).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, timeout=300, **quiet)
            subprocess.run(install, env=env, timeout=300, **quiet)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"apt-get failed: {exc!r}", flush=True)
    found = shutil.which("wrk")
    if not found:
        print("could not install wrk: using the Python load generator", flush=True)
    return found


def _lua_string(value):
    return "[==[" + value + "]==]"


# Printed once by wrk's main thread: whole numbers, microseconds for times.
WRK_FIELDS = (
    "requests",
    "duration_us",
    "p50_us",
    "p99_us",
    "connect",
    "read",
    "write",
    "status",
    "timeout",
)
WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def wrk_script(scenario, workdir):
    lines = [f"wrk.method = {_lua_string(scenario.method)}"]
    for name, value in scenario.headers.items():
        lines.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}")
    if scenario.body is not None:
        lines.append(f"wrk.body = {_lua_string(scenario.body)}")
    path = Path(workdir) / f"{scenario.name.replace(' ', '_')}.lua"
    path.write_text("\n".join(lines) + "\n" + WRK_DONE)
    return path


BALANCE_ATTEMPTS = 8
# Pause before a measured run (and between its restarts) so that both workers are idle,
# requests left from the warm-up finished, when wrk opens its connections.
SETTLE_S = 1.0


def balanced(split, workers, connections):
    """Whether every worker holds at least a quarter of its fair share of connections.

    Gunicorn's workers share one listening socket, and wrk opens all its keep-alive
    connections at once. One worker may accept them all, so the run uses one core out of
    two. That halves req/s at random, on the ceiling as much as on the real app.
    """
    if split is None or connections < workers:
        return True
    if len(split) < workers:
        return False
    return min(split) >= max(1, connections // (4 * workers))


def run_wrk(wrk, scenario, server, args, workdir, duration, check_balance=False):
    port = server.port
    script = wrk_script(scenario, workdir)
    cmd = [
        wrk,
        "--latency",
        "--timeout",
        "10s",
        "-t",
        str(min(args.wrk_threads, args.connections)),
        "-c",
        str(args.connections),
        "-d",
        f"{duration}s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{scenario.path}",
    ]
    split, attempt = None, 0
    while True:
        attempt += 1
        if check_balance:
            time.sleep(SETTLE_S)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if check_balance:
                time.sleep(min(0.5, duration / 4))
                split = server.connection_split()
                if attempt < BALANCE_ATTEMPTS and not balanced(
                    split, args.workers, args.connections
                ):
                    proc.kill()
                    proc.communicate()
                    continue
            stdout, stderr = proc.communicate(timeout=duration + 60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        break
    marker = [ln for ln in stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
    if proc.returncode != 0 or not marker:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{stdout}\n{stderr}")
    data = dict(zip(WRK_FIELDS, (float(v) for v in marker[-1].split()[1:]), strict=True))
    seconds = data["duration_us"] / 1e6
    errors = int(sum(data[k] for k in ("connect", "read", "write", "status", "timeout")))
    return Result(
        scenario=scenario.name,
        server=scenario.server,
        method=scenario.method,
        path=scenario.path,
        requests=int(data["requests"]),
        seconds=seconds,
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        loadgen="wrk",
        conn_split=split,
        attempts=attempt,
        balanced=not check_balance or balanced(split, args.workers, args.connections),
    )


def run_python(scenario, server, args, duration, check_balance=False):
    """Fallback: one thread per connection, keep-alive, per-request latency.

    The split of connections over workers is recorded but not retried.
    """
    port = server.port
    stop_at = time.monotonic() + duration
    latencies, errors, lock = [], [0], threading.Lock()
    body = scenario.body.encode() if scenario.body is not None else None

    def worker():
        mine, bad = [], 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            try:
                conn.request(scenario.method, scenario.path, body=body, headers=scenario.headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            mine.append(time.perf_counter() - start)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    began = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.connections)]
    for t in threads:
        t.start()
    split = None
    if check_balance:
        time.sleep(min(0.5, duration / 4))
        split = server.connection_split()
    for t in threads:
        t.join()
    seconds = time.monotonic() - began
    latencies.sort()

    def pct(p):
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return Result(
        scenario=scenario.name,
        server=scenario.server,
        method=scenario.method,
        path=scenario.path,
        requests=len(latencies),
        seconds=seconds,
        rps=len(latencies) / seconds if seconds else 0.0,
        p50_ms=pct(50),
        p99_ms=pct(99),
        errors=errors[0],
        loadgen="python",
        conn_split=split,
        balanced=not check_balance or balanced(split, args.workers, args.connections),
    )


def measure(wrk, scenario, server, args, workdir):
    def once(duration, check_balance=False):
        if wrk:
            return run_wrk(wrk, scenario, server, args, workdir, duration, check_balance)
        return run_python(scenario, server, args, duration, check_balance)

    if args.warmup > 0:
        once(args.warmup)
    result = once(args.duration, check_balance=args.balance)
    split = "/".join(map(str, result.conn_split)) if result.conn_split is not None else "?"
    retries = f" after {result.attempts - 1} restart(s)" if result.attempts > 1 else ""
    print(
        f"  {scenario.name:<22} {result.rps:9.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}  "
        f"connections per worker {split}{retries}",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------- report


def print_table(summaries, ceiling):
    head = (
        f"{'scenario':<22} {'server':<6} {'runs':>4} {'req/s':>9} {'(min-max)':>15} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'x ceiling':>9} {'errors':>7}"
    )
    print()
    print(head)
    print("-" * len(head))
    for r in summaries:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        spread = f"{r.rps_min:.0f}-{r.rps_max:.0f}" if r.runs > 1 else ""
        print(
            f"{r.scenario:<22} {r.server:<6} {r.runs:>4} {r.rps:9.1f} {spread:>15} "
            f"{r.p50_ms:8.2f} {r.p99_ms:8.2f} {ratio:>9} {r.errors:>7}"
        )
    print(
        f"\nceiling: bare Flask, same gunicorn settings, same bytes: {ceiling:.1f} req/s "
        "(req/s, p50 and p99 are medians over each scenario's runs)"
    )
    lopsided = [f"{r.scenario} ({r.unbalanced})" for r in summaries if r.unbalanced]
    if lopsided:
        print(
            "runs kept with one worker holding nearly all connections after "
            f"{BALANCE_ATTEMPTS} starts: {', '.join(lopsided)}"
        )


def check_targets(summaries):
    by_name = {s.scenario: s for s in summaries}
    verdicts = []
    for name, minimum in TARGETS:
        r = by_name.get(name)
        ok = r is not None and r.ratio is not None and r.ratio >= minimum and r.errors == 0
        verdicts.append(
            {"scenario": name, "target": minimum, "ratio": r.ratio if r else None, "pass": ok}
        )
        shown = f"{r.ratio:.3f}x" if r and r.ratio is not None else "n/a"
        verdict = "PASS" if ok else "MISS"
        print(f"target {name:<22} >= {minimum:.1f}x ceiling: {shown:>7}  {verdict}")
    return verdicts


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=6.0, help="seconds per measurement (6)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds, discarded (2)")
    p.add_argument("--connections", type=int, default=16, help="open connections (16)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn --workers (2)")
    p.add_argument("--threads", type=int, default=4, help="gunicorn --threads (4)")
    p.add_argument(
        "--rounds", type=int, default=1, help="repeat every scenario; report medians (1)"
    )
    p.add_argument(
        "--wrk-threads", type=int, default=1, help="wrk -t (1: leaves the cores to the server)"
    )
    p.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="auto: wrk (apt-get installs it if missing), else Python",
    )
    p.add_argument(
        "--admin-url",
        default=os.environ.get("CLOUDAPI_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="PostgreSQL URL to create/drop the throwaway database with",
    )
    p.add_argument(
        "--app",
        default="cloudapi:create_app()",
        help="gunicorn app spec of the real server, to try a variant (PYTHONPATH is passed on)",
    )
    p.add_argument(
        "--no-balance",
        dest="balance",
        action="store_false",
        help="keep a run even when one gunicorn worker took (nearly) all the connections",
    )
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    args = p.parse_args(argv)
    if min(args.connections, args.workers, args.threads, args.rounds) < 1 or args.duration <= 0:
        p.error("--duration, --connections, --workers, --threads and --rounds must be positive")
    args.duration = int(args.duration) if args.duration == int(args.duration) else args.duration
    args.warmup = int(args.warmup) if args.warmup == int(args.warmup) else args.warmup
    return args


def _raise_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def _use_project_venv():
    """Re-run under the project's .venv when started by a Python without its packages."""
    venv_python = ROOT / ".venv" / "bin" / "python"
    try:
        import gunicorn  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError:
        if venv_python.exists() and Path(sys.prefix).resolve() != venv_python.parents[1]:
            os.execv(str(venv_python), [str(venv_python), *sys.argv])
        raise SystemExit("cloudapi's packages are missing: run bin/setup first") from None


def main(argv=None):
    args = parse_args(argv)
    _use_project_venv()
    # Stop cleanly on any of these, even where the caller left SIGINT ignored (a shell's
    # background job): the finally blocks then kill the servers and drop the database.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_on_signal)
    sys.path.insert(0, str(ROOT))

    if args.loadgen == "python":
        wrk = None
    else:
        wrk = ensure_wrk(allow_install=True)
        if wrk is None and args.loadgen == "wrk":
            print("wrk is required (--loadgen wrk) but not available", file=sys.stderr)
            return 2
    if wrk and not float(args.duration).is_integer():
        args.duration = max(1, round(args.duration))  # wrk wants whole seconds

    print(
        f"cpus {os.cpu_count()}, gunicorn --workers {args.workers} --threads {args.threads}, "
        f"{args.connections} connections, {args.warmup}s warm-up + {args.duration}s per run, "
        f"load generator {'wrk ' + str(args.wrk_threads) + ' thread(s)' if wrk else 'python'}",
        flush=True,
    )

    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        print(
            f"note: load average {load_before:.2f} before starting (other processes, or a run "
            "just before): expect noisy figures (see the ceiling's spread; try --rounds 3)",
            flush=True,
        )

    servers = []
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="cloudapi-bench-") as workdir,
        throwaway_postgres(_normalise(args.admin_url), prefix="cloudapi_bench") as url,
    ):
        try:
            upgrade(url)
            token = seed(url)
            print(f"seeded 1 account, 1 token, {SEED_INSTANCES} instances", flush=True)
            auth = {"Authorization": f"Bearer {token}"}
            common = {"workers": args.workers, "threads": args.threads, "workdir": workdir}

            # One client sends thousands of requests a second: Linode's per-caller limits
            # would answer 429, so they are off here (they are tested in tests/api/test_edge.py).
            limits = {"RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off"}
            real = Server("real", args.app, env={"DATABASE_URL": url, **limits}, **common)
            servers.append(real)
            real.wait_ready("/v4/linode/types")
            status, headers, types_body = http_get(real.port, "/v4/linode/types")
            status_auth, _, types_auth = http_get(real.port, "/v4/linode/types", auth)
            if status != 200 or status_auth != 200:
                raise RuntimeError(
                    f"GET /v4/linode/types answered {status} anonymously, {status_auth} with "
                    f"the token; server log:\n{real.log()}"
                )
            if types_auth != types_body:
                print("note: the authenticated types body differs from the anonymous one")
            body_file = Path(workdir) / "types.json"
            body_file.write_bytes(types_body)

            bare = Server(
                "bare",
                "bare_app:create_app()",
                env={"BENCH_BARE_BODY": str(body_file)},
                pythonpath=BENCH,
                **common,
            )
            servers.append(bare)
            bare.wait_ready("/v4/linode/types")
            _, bare_headers, bare_body = http_get(bare.port, "/v4/linode/types")
            if bare_body != types_body:
                raise RuntimeError("the bare app does not serve the same bytes as the real one")
            if bare_headers.get("Content-Type") != headers.get("Content-Type"):
                print("note: Content-Type differs between the real and the bare app")
            print(
                f"servers ready: real :{real.port}, bare :{bare.port} "
                f"(types body {len(types_body)} bytes)",
                flush=True,
            )

            ceiling_run = Scenario("bare flask ceiling", "bare", "GET", "/v4/linode/types")
            # The ceiling brackets the two scenarios the targets compare with it, so that
            # drift in what else the machine is doing shows in its spread.
            scenarios = [
                ceiling_run,
                Scenario("types anonymous", "real", "GET", "/v4/linode/types"),
                Scenario("types authenticated", "real", "GET", "/v4/linode/types", auth),
                ceiling_run,
                Scenario("instances list", "real", "GET", "/v4/linode/instances", auth),
                Scenario(
                    "instances create",
                    "real",
                    "POST",
                    "/v4/linode/instances",
                    {**auth, "Content-Type": "application/json"},
                    CREATE_BODY,
                ),
            ]
            for round_no in range(1, args.rounds + 1):
                if args.rounds > 1:
                    print(f"round {round_no}/{args.rounds}", flush=True)
                for scenario in scenarios:
                    server = real if scenario.server == "real" else bare
                    server.check_alive()
                    try:
                        results.append(measure(wrk, scenario, server, args, workdir))
                    except RuntimeError as exc:
                        raise RuntimeError(
                            f"{exc}\n{server.name} server log:\n{server.log()}"
                        ) from None
        finally:
            for server in reversed(servers):
                server.stop()
        total, live = count_instances(url)

    summaries = summarise(results)
    ceiling = next(s.rps for s in summaries if s.server == "bare")
    for summary in summaries:
        summary.ratio = summary.rps / ceiling if ceiling else None
    print_table(summaries, ceiling)
    print()
    verdicts = check_targets(summaries)
    print(
        f"\ninstances table at the end: {total} rows ({live} live; "
        f"{SEED_INSTANCES} seeded, the rest from the create runs, warm-up included)"
    )

    if args.json:
        doc = {
            "config": {
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "connections": args.connections,
                "workers": args.workers,
                "threads": args.threads,
                "wrk_threads": args.wrk_threads,
                "app": args.app,
                "rounds": args.rounds,
                "balance": args.balance,
                "loadgen": "wrk" if wrk else "python",
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "load_average_at_start": load_before,
            "ceiling_rps": ceiling,
            "summary": [asdict(s) for s in summaries],
            "runs": [asdict(r) for r in results],
            "targets": verdicts,
            "instances_rows": {"total": total, "live": live},
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped, database dropped", file=sys.stderr)
        sys.exit(130)
