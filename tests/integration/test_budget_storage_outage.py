"""The rate-limit counters ride out a Redis outage: counted in this process while Redis is
down, back in Redis once a recheck finds it answering (cloudapi/api/budgets.py)."""

import shutil
import subprocess
import time

import pytest

from cloudapi.api.budgets import ALL, STORAGE_OPTIONS, Budget, Counters
from tests.support.unleash import free_port


def _redis_server(port):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL)  # fmt: skip
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    for _ in range(100):
        try:
            client.ping()
            return server, client
        except redis.ConnectionError:
            time.sleep(0.05)
    server.kill()
    pytest.fail("redis-server did not start")


def _stop(server):
    server.terminate()
    server.wait(timeout=10)


def test_counting_moves_to_the_process_and_back(monkeypatch):
    port = free_port()
    server, client = _redis_server(port)
    try:
        counters = Counters(f"redis://127.0.0.1:{port}/0", "outage", STORAGE_OPTIONS)
        budget = Budget.of(ALL, "3/60")
        assert [counters.hit(budget, "caller").within for _ in range(2)] == [True, True]
        (key,) = client.keys("*outage*")
        assert client.get(key) == b"2"  # in Redis
        _stop(server)
        # Down: the process counts on its own, from nothing (looser, never refusing).
        seen = [counters.hit(budget, "caller").within for _ in range(4)]
        assert seen == [True, True, True, False]
        server, client = _redis_server(port)  # back, empty (it keeps nothing on disk)
        assert counters.hit(budget, "caller").within is False  # not rechecked yet
        clock = time.time() + 3  # past the first recheck interval
        monkeypatch.setattr(time, "time", lambda: clock)
        assert counters.hit(budget, "caller").within is True  # recovered: Redis counts
        (key,) = client.keys("*outage*")
        assert client.get(key) == b"1"
        remaining, _ = counters.window(counters.hit(budget, "caller"))
        assert remaining == 1
    finally:
        _stop(server)
