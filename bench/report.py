"""The HTTP bench's verdicts: medians per scenario, ratios to the ceiling, PASS or MISS.

Req/s on a shared 2-core machine move by tens of percent between runs; the ratio to the
bare-Flask ceiling, measured in the same run on the same machine, is what the targets
compare. Every run is kept, and goes into --json, so that a summary can be checked.
"""

import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.balance import BALANCE_ATTEMPTS

TARGETS = (
    # (scenario, minimum ratio of its req/s to the bare-Flask ceiling)
    ("types anonymous", 0.8),
    ("types authenticated", 0.5),
)


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
    """Group runs by scenario (first-seen order); take medians; set ratios to the ceiling.

    Returns (summaries, ceiling): the ceiling is the first bare-server scenario's median.
    """
    groups = {}
    for r in results:
        groups.setdefault(r.scenario, []).append(r)
    summaries = [
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
    ceiling = next(s.rps for s in summaries if s.server == "bare")
    for summary in summaries:
        summary.ratio = summary.rps / ceiling if ceiling else None
    return summaries, ceiling


def print_table(summaries, ceiling):
    """The table: one row per scenario, then the ceiling and any lopsided runs kept."""
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
    """Print PASS or MISS per target (errors make a MISS); return the verdicts."""
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


def http_doc(args, loadgen, figures):
    """The HTTP bench's --json document: its config, then `figures` (summary, runs, ...)."""
    config = {
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "connections": args.connections,
        "workers": args.workers,
        "threads": args.threads,
        "wrk_threads": args.wrk_threads,
        "app": args.app,
        "rounds": args.rounds,
        "balance": args.balance,
        "loadgen": loadgen,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    doc = {"config": config, **figures}
    doc["summary"] = [asdict(s) for s in doc["summary"]]
    doc["runs"] = [asdict(r) for r in doc["runs"]]
    doc["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return doc


def write_json(path, doc):
    """Write `doc` to `path` (--json of every bench) and say so."""
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")
