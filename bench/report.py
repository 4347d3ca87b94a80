"""The HTTP bench's table: medians per scenario and side, ratios to each scenario's own
ceiling, SQL per request, and the --json document.

Req/s on a shared 2-core machine move by tens of percent between runs; the ratio of a
scenario to its own ceiling, measured next to it in the same round, is what the targets
compare (bench/verdicts.py). Every run is kept, and goes into --json, so that a summary
can be checked.
"""

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.balance import BALANCE_ATTEMPTS


@dataclass
class Summary:
    """One scenario's side over all its runs: medians, with the spread of req/s."""

    name: str
    key: str
    side: str  # "real" or "ceiling"
    server: str
    runs: int
    rps: float
    rps_min: float
    rps_max: float
    p50_ms: float
    p99_ms: float
    errors: int
    unbalanced: int  # runs kept although one worker held (nearly) all the connections
    ratio: float | None = None  # real req/s over its ceiling's (real side only)
    sql: dict = field(default_factory=dict)  # statements, rows, written per request


def summarise(results):
    """{(key, side): Summary}, in first-seen order; real sides get their ceiling ratio."""
    groups = {}
    for r in results:
        groups.setdefault((r.key, r.side), []).append(r)
    summaries = {
        group: Summary(
            name=runs[0].scenario,
            key=group[0],
            side=group[1],
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
        for group, runs in groups.items()
    }
    for (key, side), s in summaries.items():
        ceiling = summaries.get((key, "ceiling"))
        if side == "real" and ceiling is not None and ceiling.rps:
            s.ratio = s.rps / ceiling.rps
    return summaries


def _num(value, spec, empty="-"):
    return format(value, spec) if value is not None else empty


HEAD = (
    f"{'scenario':<26} {'side':<7} {'runs':>4} {'req/s':>8} {'(min-max)':>11} "
    f"{'p50 ms':>8} {'p99 ms':>8} {'p99/p50':>7} {'x ceil':>6} "
    f"{'sql/req':>7} {'rows/req':>8} {'wr/req':>6} {'errors':>6}"
)


def row(s):
    """One table line."""
    spread = f"{s.rps_min:.0f}-{s.rps_max:.0f}" if s.runs > 1 else ""
    tail = s.p99_ms / s.p50_ms if s.p50_ms else None
    name = s.name if s.side == "real" else ""
    return (
        f"{name:<26} {s.side:<7} {s.runs:>4} {s.rps:8.1f} {spread:>11} "
        f"{s.p50_ms:8.2f} {s.p99_ms:8.2f} {_num(tail, '7.1f'):>7} {_num(s.ratio, '6.3f'):>6} "
        f"{_num(s.sql.get('statements'), '7.2f'):>7} {_num(s.sql.get('rows'), '8.1f'):>8} "
        f"{_num(s.sql.get('written'), '6.1f'):>6} {s.errors:>6}"
    )


def print_table(summaries):
    """The table: per scenario its real row, then its ceiling's; then lopsided runs."""
    print()
    print(HEAD)
    print("-" * len(HEAD))
    for s in summaries.values():
        print(row(s))
    print(
        "\nreq/s, p50 and p99 are medians over each side's runs; x ceil = real req/s / its "
        "ceiling's;\nsql/req, rows/req (returned), wr/req (written): the real app's as psycopg "
        "ran them on the probe\nserver, the create ceiling's from its SQL, 0 for the bare app"
    )
    lopsided = [f"{s.name} {s.side} ({s.unbalanced})" for s in summaries.values() if s.unbalanced]
    if lopsided:
        print(
            "runs kept with one worker holding nearly all connections after "
            f"{BALANCE_ATTEMPTS} starts: {', '.join(lopsided)}"
        )


def print_rss(rss):
    """Peak RSS per worker of each measured server."""
    parts = []
    for name, peaks in rss.items():
        shown = "/".join(f"{p:.0f}" for p in peaks) if peaks else "?"
        parts.append(f"{name} {shown}")
    print(f"peak RSS per worker (VmHWM, MiB): {'; '.join(parts)}")


def http_doc(args, loadgen, figures):
    """The HTTP bench's --json document: its config, then `figures` (summary, runs, ...)."""
    config = {
        "duration_s": args.duration, "warmup_s": args.warmup, "connections": args.connections,
        "workers": args.workers, "threads": args.threads, "wrk_threads": args.wrk_threads,
        "app": args.app, "rounds": args.rounds, "balance": args.balance, "only": args.only,
        "loadgen": loadgen, "cpus": os.cpu_count(), "python": platform.python_version(),
        "platform": platform.platform(),
    }  # fmt: skip
    doc = {"config": config, **figures}
    doc["summary"] = [asdict(s) for s in doc["summary"].values()]
    doc["runs"] = [asdict(r) for r in doc["runs"]]
    doc["targets"] = [asdict(v) for v in doc["targets"]]
    doc["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return doc


def write_json(path, doc):
    """Write `doc` to `path` (--json of every bench) and say so."""
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")
