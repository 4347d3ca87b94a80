"""Linux CPU lists ("0-19,40-59") as sorted thread numbers, and back."""

import re

_PART = re.compile(r"^(\d+)(?:-(\d+))?$")
# Linux's largest NR_CPUS; a bound also keeps "0-4294967295" from building a huge list.
MAX_CPUS = 8192


def parse_cpulist(text):
    """Parse a Linux cpulist such as "0-3,8,10-11" into sorted, unique ints."""
    found = set()
    text = (text or "").strip()
    for part in text.split(",") if text else ():
        match = _PART.match(part.strip())
        if match is None:
            raise ValueError(f"bad cpulist {text!r}: {part!r}")
        first, last = int(match[1]), int(match[2] or match[1])
        if first > last:
            raise ValueError(f"bad cpulist {text!r}: range {part!r} runs backwards")
        if last >= MAX_CPUS:
            raise ValueError(f"bad cpulist {text!r}: CPU numbers stop at {MAX_CPUS - 1}")
        found.update(range(first, last + 1))
    return sorted(found)


def format_cpulist(numbers):
    """Format ints as a compact cpulist: [0, 1, 2, 5, 7, 8] -> "0-2,5,7-8"."""
    ranges, run = [], []
    for n in sorted(set(numbers)):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            ranges.append(run)
        run = [n]
    if run:
        ranges.append(run)
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in ranges)
