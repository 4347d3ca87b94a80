"""Admin calls under races and at the edges of their inputs answer 200 or a clean 400."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cloudapi.services.demo_hosts import describe
from tests.support.gunicorn import Gunicorn

pytestmark = pytest.mark.slow

FLIPPERS = 10
LAUNCH = "gpu-linodes-launch"


def test_concurrent_first_flips_of_one_flag(app, admin_headers, tmp_path):
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "RATE_LIMIT": "off",
           "RATE_LIMIT_CREATE": "off"}  # fmt: skip
    with Gunicorn(env, workers=4, log_path=tmp_path / "gunicorn.log") as server:
        start = threading.Barrier(FLIPPERS)

        def flip(i):
            start.wait()
            action = "enable" if i % 2 == 0 else "disable"
            url = f"{server.url}/admin/flags/{LAUNCH}/{action}"
            return requests.post(url, headers=admin_headers, timeout=30)

        with ThreadPoolExecutor(FLIPPERS) as pool:
            answers = list(pool.map(flip, range(FLIPPERS)))
        assert [r.status_code for r in answers] == [200] * FLIPPERS, [r.text for r in answers]
        audit = requests.get(f"{server.url}/admin/flags/audit", headers=admin_headers).json()
        flips = [e for e in audit["data"] if e["flag"] == LAUNCH]
        assert len(flips) == FLIPPERS
        # Serialised: each flip replaced the state the one before it left.
        chain = sorted(flips, key=lambda e: e["id"])
        assert chain[0]["from"] is False  # flags/ says the launch is off
        for before, after in zip(chain, chain[1:], strict=False):
            assert after["from"] == before["to"]
        listed = requests.get(f"{server.url}/admin/flags", headers=admin_headers).json()
        final = next(f for f in listed["data"] if f["name"] == LAUNCH)
        assert final["enabled"] == chain[-1]["to"]


@pytest.mark.parametrize(
    "change",
    [
        {"numa_nodes": [{"node": 0, "cpus": "0-7", "memory_mb": 10**20}]},
        {"numa_nodes": [{"node": 0, "cpus": "0-7", "memory_mb": 2**31}]},
        {"numa_nodes": [{"node": 0, "cpus": "0-7", "memory_mb": 1, "hugepages_1g": 2**40}]},
        {"numa_nodes": [{"node": 0, "cpus": "0-4294967295", "memory_mb": 1024}]},
        {"reserved_cpus": "0-99999999999"},
        {"region": "us-east\u0000"},
    ],
)
def test_out_of_range_host_descriptions_are_a_clean_400(client, admin_headers, change):
    body = {**describe("edge.us-east", "us-east", 1, 1), **change}
    body["gpus"] = [dict(g, numa_node=0) for g in body["gpus"]]
    response = client.post("/admin/hosts", json=body, headers=admin_headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["errors"][0]["field"]
    assert client.get("/admin/hosts/edge.us-east", headers=admin_headers).status_code == 404
