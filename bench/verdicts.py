"""Issue 15's targets as PASS/MISS, from the summaries of one run.

Kept apart from the measuring (and free of its imports) so that tests/unit can check the
arithmetic on made-up figures. A summary is anything with `rps`, `p50_ms`, `p99_ms`,
`errors` and `name`, keyed by (scenario key, "real" or "ceiling"). A target whose
scenarios were not measured (--only) is left out; one with errors is a MISS, whatever
its figures.
"""

from dataclasses import dataclass

# (scenario key, minimum req/s as a fraction of its own ceiling's, measured in the run)
RATIO_TARGETS = (
    ("types", 0.8),
    ("types-auth", 0.5),
    ("list", 0.3),
    ("events", 0.3),
    ("get", 0.5),
    ("create", 0.5),
    ("gpu-create", 0.4),
)
RATE_TARGETS = (("create", 300.0),)  # (scenario key, minimum req/s)
TAIL = 10.0  # every real scenario: p99 <= TAIL x p50
# (scenario, baseline, maximum p50 ratio): cost flat in what a request does not read
FLAT_TARGETS = (("list-10k", "list", 1.5), ("list-crowded", "list", 1.2))


@dataclass
class Verdict:
    target: str  # what is compared with what
    value: float | None  # the figure
    limit: float
    shown: str  # the figure as printed
    passed: bool
    errors: int = 0

    def line(self):
        note = f"  ({self.errors} errors)" if self.errors else ""
        verdict = "PASS" if self.passed else "MISS"
        return f"target {self.target:<58} {self.shown:>12}  {verdict}{note}"


def _ok(value, limit, errors, at_most=False):
    if value is None or errors:
        return False
    return value <= limit if at_most else value >= limit


def ratio_verdicts(summaries):
    found = []
    for key, minimum in RATIO_TARGETS:
        real, ceiling = summaries.get((key, "real")), summaries.get((key, "ceiling"))
        if real is None or ceiling is None:
            continue
        ratio = real.rps / ceiling.rps if ceiling.rps else None
        errors = real.errors + ceiling.errors
        shown = f"{ratio:.3f}x" if ratio is not None else "n/a"
        found.append(Verdict(f"{real.name}: req/s >= {minimum:.1f}x its ceiling", ratio,
                             minimum, shown, _ok(ratio, minimum, errors), errors))  # fmt: skip
    return found


def rate_verdicts(summaries):
    found = []
    for key, minimum in RATE_TARGETS:
        real = summaries.get((key, "real"))
        if real is None:
            continue
        found.append(Verdict(f"{real.name}: >= {minimum:.0f} req/s", real.rps, minimum,
                             f"{real.rps:.1f}/s", _ok(real.rps, minimum, real.errors),
                             real.errors))  # fmt: skip
    return found


def tail_verdicts(summaries):
    found = []
    for (_key, side), s in summaries.items():
        if side != "real":
            continue
        tail = s.p99_ms / s.p50_ms if s.p50_ms else None
        shown = f"{tail:.1f}x" if tail is not None else "n/a"
        found.append(Verdict(f"{s.name}: p99 <= {TAIL:.0f}x p50", tail, TAIL, shown,
                             _ok(tail, TAIL, s.errors, at_most=True), s.errors))  # fmt: skip
    return found


def flat_verdicts(summaries):
    found = []
    for key, base_key, maximum in FLAT_TARGETS:
        s, base = summaries.get((key, "real")), summaries.get((base_key, "real"))
        if s is None or base is None:
            continue
        ratio = s.p50_ms / base.p50_ms if base.p50_ms else None
        errors = s.errors + base.errors
        shown = f"{ratio:.2f}x" if ratio is not None else "n/a"
        found.append(Verdict(f"{s.name}: p50 <= {maximum:.1f}x {base.name}'s", ratio,
                             maximum, shown, _ok(ratio, maximum, errors, at_most=True),
                             errors))  # fmt: skip
    return found


def evaluate(summaries):
    """Every target the measured scenarios allow, in the order they are printed."""
    return (ratio_verdicts(summaries) + rate_verdicts(summaries) + flat_verdicts(summaries)
            + tail_verdicts(summaries))  # fmt: skip


def not_measured(summaries):
    """Targets left out because their scenarios were not selected (for a note)."""
    keys = {key for key, _side in summaries}
    named = [k for k, _ in RATIO_TARGETS + RATE_TARGETS] + [k for k, _, _ in FLAT_TARGETS]
    return sorted({k for k in named if k not in keys})
