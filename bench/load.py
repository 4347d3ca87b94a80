"""Load generation: one scenario against one server, with wrk or, without it, Python threads.

wrk is the load generator that matters (bin/system-packages installs it); the Python one,
one thread per keep-alive connection, keeps the bench usable where wrk is missing, at the
cost of lower, noisier figures. Either way a short warm-up run comes first, discarded.
"""

import http.client
import shutil
import threading
import time
from dataclasses import dataclass, field

from bench import balance, wrk


@dataclass
class Scenario:
    name: str
    server: str  # which server: "main", "crowded" (real ones), "bare", "create" (ceilings)
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: str | None = None
    key: str = ""  # bench/scenarios.py's key: a real run and its ceiling share it
    side: str = "real"  # "real" or "ceiling"


@dataclass
class Result:
    scenario: str
    key: str
    side: str
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
    # to get a balanced split (see bench/balance.py).
    conn_split: list | None = None
    attempts: int = 1
    balanced: bool = True

    @classmethod
    def of(cls, scenario, requests, seconds, **figures):
        """A Result for `scenario`: req/s from `requests` over `seconds`, the rest as given."""
        rps = requests / seconds if seconds else 0.0
        return cls(
            scenario=scenario.name,
            key=scenario.key,
            side=scenario.side,
            server=scenario.server,
            method=scenario.method,
            path=scenario.path,
            requests=requests,
            seconds=seconds,
            rps=rps,
            **figures,
        )


def find_wrk(required):
    """wrk's path, or None (then the Python load generator runs) unless `required`."""
    found = shutil.which("wrk")
    if found:
        return found
    how = "bin/system-packages installs it (as root), or: apt-get install wrk"
    if required:
        raise SystemExit(f"wrk is required (--loadgen wrk) but not on PATH: {how}")
    print(f"wrk not found: using the Python load generator ({how})", flush=True)
    return None


def _client(scenario, port, stop_at, latencies, errors, lock):
    """One keep-alive connection sending `scenario` until `stop_at`; adds to the totals."""
    body = scenario.body.encode() if scenario.body is not None else None
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


def _percentile_ms(ordered, p):
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def run_python(scenario, server, args, duration, check_balance=False):
    """Fallback: one thread per connection, keep-alive, per-request latency.

    The split of connections over workers is recorded but not retried.
    """
    stop_at = time.monotonic() + duration
    latencies, errors, lock = [], [0], threading.Lock()
    totals = (scenario, server.port, stop_at, latencies, errors, lock)
    began = time.monotonic()
    threads = [threading.Thread(target=_client, args=totals, daemon=True)
               for _ in range(args.connections)]  # fmt: skip
    for t in threads:
        t.start()
    split = balance.sample_split(server, duration) if check_balance else None
    for t in threads:
        t.join()
    seconds = time.monotonic() - began
    latencies.sort()
    return Result.of(
        scenario, len(latencies), seconds,
        p50_ms=_percentile_ms(latencies, 50), p99_ms=_percentile_ms(latencies, 99),
        errors=errors[0], loadgen="python", conn_split=split,
        balanced=not check_balance or balance.balanced(split, args.workers, args.connections),
    )  # fmt: skip


def run_wrk(wrk_path, scenario, server, args, workdir, duration, check_balance=False):
    """One wrk run (restarted until balanced if `check_balance`), as a Result."""
    data, split, attempts = wrk.run(
        wrk_path, scenario, server, args, workdir, duration, check_balance
    )
    seconds = data["duration_us"] / 1e6
    return Result.of(
        scenario, int(data["requests"]), seconds,
        p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000,
        errors=int(sum(data[k] for k in wrk.ERROR_FIELDS)), loadgen="wrk",
        conn_split=split, attempts=attempts,
        balanced=not check_balance or balance.balanced(split, args.workers, args.connections),
    )  # fmt: skip


def measure(wrk_path, scenario, server, args, workdir, before=None):
    """Warm up, then one measured run (balanced if asked); print its line as it ends.

    `before`, if given, runs before the warm-up and again before the measured run (the
    GPU scenario puts its fleet back there).
    """

    def once(duration, check_balance=False):
        if wrk_path:
            return run_wrk(wrk_path, scenario, server, args, workdir, duration, check_balance)
        return run_python(scenario, server, args, duration, check_balance)

    if args.warmup > 0:
        if before is not None:
            before()
        once(args.warmup)
    if before is not None:
        before()
    result = once(args.duration, check_balance=args.balance)
    split = "/".join(map(str, result.conn_split)) if result.conn_split is not None else "?"
    retries = f" after {result.attempts - 1} restart(s)" if result.attempts > 1 else ""
    label = f"{scenario.name} ({scenario.side})"
    print(
        f"  {label:<34} {result.rps:9.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}  "
        f"connections per worker {split}{retries}",
        flush=True,
    )
    return result
