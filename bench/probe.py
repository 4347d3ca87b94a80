"""What a request costs besides time: its SQL (statements, rows) and the workers' memory.

SQL: after the measured rounds, each scenario's request is sent PROBE_REQUESTS times, one
at a time, to a probe server: the real app wrapped by bench/counted_app.py, on the same
database, one worker and one thread, which reports each request's statements and rows in
a header (counted by psycopg, and the statements SQLAlchemy's engine events saw).
Sequential requests see no contention, so a GPU create that lost its node to a concurrent
one and placed again (more statements) shows only under load, not here.

Memory: the peak resident set (VmHWM in /proc/<pid>/status) of each gunicorn worker of
each measured server, read once the rounds are over.
"""

import http.client
import statistics
from pathlib import Path

from bench.balance import worker_pids
from bench.counted_app import HEADER

PROBE_REQUESTS = 30


def _once(port, scenario):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = scenario.body.encode() if scenario.body is not None else None
        conn.request(scenario.method, scenario.path, body=body, headers=scenario.headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader(HEADER), resp.read()
    finally:
        conn.close()


def sql_per_request(server, scenario, requests=PROBE_REQUESTS):
    """Mean statements, rows returned and rows written per request of `scenario`.

    A failed request (an error status, or no header) is left out and counted; the first
    one's status and body are kept in "first_failure".
    """
    seen, bad, first_failure = [], 0, None
    for _ in range(requests):
        status, header, body = _once(server.port, scenario)
        if status >= 400 or header is None:
            bad += 1
            first_failure = first_failure or f"{status} {body[:300]!r}"
            continue
        seen.append([int(v) for v in header.split()])
    figures = {"requests": len(seen), "failed": bad, "first_failure": first_failure}
    if not seen:
        return {"statements": None, "rows": None, "written": None, **figures}
    stmts, rows, written, engine = (statistics.fmean(col) for col in zip(*seen, strict=True))
    return {"statements": stmts, "rows": rows, "written": written, "engine_statements": engine,
            "max_statements": max(s[0] for s in seen), **figures}  # fmt: skip


def peak_rss_mib(server):
    """VmHWM of each worker of `server`, in MiB, largest first ([] without /proc)."""
    peaks = []
    for pid in worker_pids(server.proc.pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return sorted(peaks, reverse=True)
