"""Concurrent GPU creates through the real HTTP server never sell a GPU twice."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.gunicorn import Gunicorn
from tests.support.inventory import check_invariants

pytestmark = pytest.mark.slow

CLIENTS = 60
BODY = {"region": "us-east", "image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x"}


def test_concurrent_creates_on_eight_gpus(app, add_host, make_account, db, tmp_path):
    add_host("gpu-1.us-east")  # exactly 8 free GPUs in the region: 2 NUMA nodes x 4
    _, headers = make_account(tags=("employee",))
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "UNLEASH_REFRESH_INTERVAL": "1",
           "RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off"}  # one account, 60 creates  # fmt: skip
    with Gunicorn(env, workers=4, log_path=tmp_path / "gunicorn.log") as server:
        url = f"{server.url}/v4/linode/instances"
        start = threading.Barrier(CLIENTS)

        def create(_):
            start.wait()
            body = {**BODY, "type": "g1-gpu-rtx6000-1"}
            return requests.post(url, json=body, headers=headers, timeout=60)

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(create, range(CLIENTS)))

        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200] * 8 + [400] * (CLIENTS - 8), statuses
        for loser in (r for r in answers if r.status_code == 400):
            assert loser.json()["errors"][0]["field"] == "type"
        assert check_invariants(db)["gpus_free"] == 0

        # Then deletes and creates of mixed plans, in random order, still consistent.
        rng = random.Random(7)
        live = [(r.json()["id"], 1) for r in answers if r.status_code == 200]
        for _ in range(30):
            if live and rng.random() < 0.5:
                gone, _ = live.pop(rng.randrange(len(live)))
                assert requests.delete(f"{url}/{gone}", headers=headers, timeout=30).ok
            else:
                gpus = rng.randint(1, 4)
                body = {**BODY, "type": f"g1-gpu-rtx6000-{gpus}"}
                made = requests.post(url, json=body, headers=headers, timeout=30)
                assert made.status_code in (200, 400), made.text
                if made.status_code == 200:
                    live.append((made.json()["id"], gpus))
        totals = check_invariants(db)
        assert totals["gpus_total"] - totals["gpus_free"] == sum(g for _, g in live)
