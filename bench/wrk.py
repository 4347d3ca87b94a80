"""Driving wrk: a Lua script per scenario, its figures read back, lopsided runs restarted.

wrk takes the method, headers and body from a Lua script; a `done()` hook in that script
prints the figures on one marker line, whole numbers and microseconds, so that nothing
depends on wrk's human-readable summary. See bench/balance.py for why a run whose
connections all went to one gunicorn worker is restarted.
"""

import subprocess
import time
from pathlib import Path

from bench import balance

# Printed once by wrk's main thread: whole numbers, microseconds for times.
FIELDS = (
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
ERROR_FIELDS = ("connect", "read", "write", "status", "timeout")
DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def _lua_string(value):
    return "[==[" + value + "]==]"


def script(scenario, workdir):
    """Write the Lua script that makes wrk send `scenario`'s request; return its path."""
    lines = [f"wrk.method = {_lua_string(scenario.method)}"]
    for name, value in scenario.headers.items():
        lines.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}")
    if scenario.body is not None:
        lines.append(f"wrk.body = {_lua_string(scenario.body)}")
    path = Path(workdir) / f"{scenario.key or 'run'}-{scenario.side}.lua"
    path.write_text("\n".join(lines) + "\n" + DONE)
    return path


def command(wrk, scenario, port, args, workdir, duration):
    """The wrk command line for one run of `scenario` against loopback `port`."""
    return [
        wrk, "--latency", "--timeout", "10s",
        "-t", str(min(args.wrk_threads, args.connections)), "-c", str(args.connections),
        "-d", f"{duration}s", "-s", str(script(scenario, workdir)),
        f"http://127.0.0.1:{port}{scenario.path}",
    ]  # fmt: skip


def _start(cmd, server, args, duration, check_balance):
    """Start wrk, restarting it while the connections land lopsided: (proc, split, attempts)."""
    split, attempt = None, 0
    while True:
        attempt += 1
        if check_balance:
            time.sleep(balance.SETTLE_S)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if not check_balance:
            return proc, split, attempt
        try:
            split = balance.sample_split(server, duration)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if attempt >= balance.BALANCE_ATTEMPTS or balance.balanced(
            split, args.workers, args.connections
        ):
            return proc, split, attempt
        proc.kill()
        proc.communicate()


def run(wrk, scenario, server, args, workdir, duration, check_balance=False):
    """One wrk run of `scenario`: (figures by FIELDS name, connection split, attempts)."""
    cmd = command(wrk, scenario, server.port, args, workdir, duration)
    proc, split, attempts = _start(cmd, server, args, duration, check_balance)
    try:
        stdout, stderr = proc.communicate(timeout=duration + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    marker = [ln for ln in stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
    if proc.returncode != 0 or not marker:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{stdout}\n{stderr}")
    data = dict(zip(FIELDS, (float(v) for v in marker[-1].split()[1:]), strict=True))
    return data, split, attempts
