"""What feature-flag evaluation adds to a request.

Serves the same `GET /v4/linode/types` (a token of an employee-tagged account, so the
account's context is built and the GPU flags consulted) from two apps on one SQLite
database: one with flags (the embedded Unleash client), one built with
FLAGS_ENABLED=False. Requests go through Flask's WSGI stack in-process, interleaved in
rounds so that machine noise hits both alike; it prints the median time per request of
each and their ratio.

    .venv/bin/python bench/flags_bench.py [--rounds 30] [--requests 300]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench` is a package
from bench import runtime

runtime.use_project_venv("flask", "sqlalchemy")

from cloudapi import create_app  # noqa: E402
from cloudapi.db.migrate import upgrade  # noqa: E402
from cloudapi.services import accounts, tokens  # noqa: E402


def seed(app):
    """An employee-tagged account's token: employees see the GPU plans, so flags matter."""
    with app.extensions["cloudapi.db"].transaction() as session:
        account = accounts.create(session, "bench@example.com", ("employee",))
        return tokens.create(session, account_id=account.id)


def per_request(client, headers, n):
    """Mean seconds per `GET /v4/linode/types` over `n` requests in a row."""
    start = time.perf_counter()
    for _ in range(n):
        response = client.get("/v4/linode/types", headers=headers)
        assert response.status_code == 200
    return (time.perf_counter() - start) / n


def uncached_evaluation(flags, n):
    """Seconds per request that a memo miss costs: every GPU flag evaluated by the SDK."""
    from cloudapi.principal import Principal

    who = Principal(1, 1, "bench", "", ("employee",), (), frozenset({"*"}), False)
    start = time.perf_counter()
    for _ in range(n):
        flags.evaluate(who)
    return (time.perf_counter() - start) / n


def main():
    """Interleave rounds of both apps, so machine noise hits both alike; print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--requests", type=int, default=300, help="per round and app")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        upgrade(url)
        # Thousands of requests from one token: Linode's per-caller limits are off here.
        base = {"DATABASE_URL": url, "RATE_LIMIT": "off"}
        with_flags = create_app(base)
        without = create_app({**base, "FLAGS_ENABLED": False})
        headers = {"Authorization": f"Bearer {seed(with_flags)}"}
        clients = {"flags": with_flags.test_client(), "no flags": without.test_client()}
        gpu = len(clients["flags"].get("/v4/linode/types", headers=headers).json["data"])
        plain = len(clients["no flags"].get("/v4/linode/types", headers=headers).json["data"])
        for client in clients.values():  # warm up: caches, connections, JIT-less but hot paths
            per_request(client, headers, args.requests)
        times = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, client in clients.items():
                times[name].append(per_request(client, headers, args.requests))
        flags = with_flags.extensions["cloudapi.flags"]
        evaluation = uncached_evaluation(flags, args.requests * args.rounds)
        flags.shutdown()

    medians = {name: statistics.median(values) * 1e6 for name, values in times.items()}
    ratio = medians["flags"] / medians["no flags"]
    print(f"GET /v4/linode/types, employee token, {args.rounds} rounds x {args.requests} requests")
    print(f"  with flags:    {medians['flags']:8.1f} us/request (median; {gpu} plans visible)")
    print(f"  without flags: {medians['no flags']:8.1f} us/request (median; {plain} plans)")
    print(f"  flags add {100 * (ratio - 1):+.1f}% (ratio {ratio:.3f}); target: under +5%"
          f" -> {'PASS' if ratio < 1.05 else 'MISS'}")  # fmt: skip
    print(f"  a memo miss (a context's first request each half second) costs "
          f"{evaluation * 1e6:.1f} us of SDK evaluation")  # fmt: skip


if __name__ == "__main__":
    main()
