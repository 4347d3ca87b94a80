"""Launches as data: the RTX 4000 Ada launch, region by region, to a share of accounts.

Through the admin API on the embedded default (flags/ + our database). The same launch
against a real Unleash server is in tests/integration/test_unleash_regions.py.
"""

import time

import pytest

from cloudapi.services.demo_hosts import RTX4000_ADA
from tests.support.rows import settle

LAUNCH = "gpu-rtx4000-ada-launch"
ADA_IDS = {"g2-gpu-rtx4000a1-s", "g2-gpu-rtx4000a1-m", "g2-gpu-rtx4000a1-l",
           "g2-gpu-rtx4000a1-xl", "g2-gpu-rtx4000a2-s", "g2-gpu-rtx4000a2-m",
           "g2-gpu-rtx4000a2-hs", "g2-gpu-rtx4000a4-s", "g2-gpu-rtx4000a4-m"}  # fmt: skip
RTX6000_IDS = {f"g1-gpu-rtx6000-{n}" for n in range(1, 5)}


def body(region, plan="g2-gpu-rtx4000a1-s"):
    return {"type": plan, "region": region, "image": "linode/ubuntu24.04",
            "root_pass": "Ada-Launch-2026!x"}  # fmt: skip


@pytest.fixture
def app(make_app):
    return make_app(UNLEASH_REFRESH_INTERVAL=1)


@pytest.fixture
def ada_hosts(add_host):
    """RTX 4000 Ada hosts in Chicago and Seattle; RTX 6000 hosts in Newark."""
    return [add_host("ada-1.us-ord", "us-ord", gpu=RTX4000_ADA),
            add_host("ada-1.us-sea", "us-sea", gpu=RTX4000_ADA),
            add_host("gpu-1.us-east")]  # fmt: skip


def wait_until(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def types(client, headers):
    return {t["id"] for t in client.get("/v4/linode/types", headers=headers).get_json()["data"]}


def caps(client, region, headers):
    return client.get(f"/v4/regions/{region}", headers=headers).get_json()["capabilities"]


def flip(client, admin_headers, action, **scope):
    response = client.post(f"/admin/flags/{LAUNCH}/{action}", json=scope, headers=admin_headers)
    return response.status_code, response.get_json()


def test_the_catalog_has_linodes_rtx4000_ada_plans(client, employee):
    plan = client.get("/v4/linode/types/g2-gpu-rtx4000a1-s", headers=employee[1]).get_json()
    shape = (plan["label"], plan["gpus"], plan["vcpus"], plan["memory"])
    assert shape == ("RTX4000 Ada x1 Small", 1, 4, 16384)
    assert (plan["price"]["hourly"], plan["price"]["monthly"], plan["class"]) == (
        0.52,
        350.0,
        "gpu",
    )
    assert types(client, employee[1]) >= ADA_IDS | RTX6000_IDS  # employees: both generations


def test_customers_see_each_generation_after_its_own_launch(
    app, client, customer, admin_headers, ada_hosts
):
    assert not types(client, customer[1]) & (ADA_IDS | RTX6000_IDS)
    client.post("/admin/flags/gpu-linodes-launch/enable", headers=admin_headers)
    wait_until(lambda: types(client, customer[1]) & RTX6000_IDS == RTX6000_IDS)
    assert not types(client, customer[1]) & ADA_IDS
    assert client.post("/v4/linode/instances", json=body("us-ord"),
                       headers=customer[1]).status_code == 400  # fmt: skip
    assert flip(client, admin_headers, "enable")[0] == 200
    wait_until(lambda: types(client, customer[1]) >= ADA_IDS)


def test_a_region_scoped_launch(app, client, customer, employee, admin_headers, ada_hosts):
    status, made = flip(client, admin_headers, "enable", regions=["us-ord"])
    assert status == 200, made
    assert (made["from"], made["to"], made["regions"]) == (False, True, ["us-ord"])
    assert made["change"] == "regions: everywhere -> us-ord"
    wait_until(lambda: types(client, customer[1]) >= ADA_IDS)  # listed: launched somewhere

    assert "GPU Linodes" in caps(client, "us-ord", customer[1])
    assert "GPU Linodes" not in caps(client, "us-sea", customer[1])  # hosts, not launched
    assert "GPU Linodes" in caps(client, "us-sea", employee[1])  # early access: everywhere
    sea = client.get("/v4/account/availability/us-sea", headers=customer[1]).get_json()
    assert sea["unavailable"] == ["GPU Linodes"]
    ord_ = client.get("/v4/account/availability/us-ord", headers=customer[1]).get_json()
    assert "GPU Linodes" in ord_["available"]
    by_region = {(a["region"], a["plan"]): a["available"] for a in
                 client.get("/v4/regions/availability?page_size=500",
                            headers=customer[1]).get_json()["data"]}  # fmt: skip
    assert by_region[("us-ord", "g2-gpu-rtx4000a1-s")] is True
    assert by_region[("us-sea", "g2-gpu-rtx4000a1-s")] is False

    refused = client.post("/v4/linode/instances", json=body("us-sea"), headers=customer[1])
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [
        {"field": "region", "reason": "GPU Linodes are not available in this region"}
    ]
    made = client.post("/v4/linode/instances", json=body("us-ord"), headers=customer[1])
    assert made.status_code == 200, made.get_json()
    assert client.post("/v4/linode/instances", json=body("us-sea"),
                       headers=employee[1]).status_code == 200  # fmt: skip

    # Seattle next: one more region, audited; then closing Chicago keeps Seattle.
    assert flip(client, admin_headers, "enable", regions=["us-sea"])[1]["regions"] == [
        "us-ord", "us-sea"]  # fmt: skip
    wait_until(lambda: "GPU Linodes" in caps(client, "us-sea", customer[1]))
    closed = flip(client, admin_headers, "disable", regions=["us-ord"])[1]
    assert (closed["to"], closed["regions"]) == (True, ["us-sea"])
    wait_until(lambda: "GPU Linodes" not in caps(client, "us-ord", customer[1]))
    audit = client.get("/admin/flags/audit", headers=admin_headers).get_json()["data"]
    assert [a["change"] for a in audit[:3]] == [
        "regions: us-ord,us-sea -> us-sea", "regions: us-ord -> us-ord,us-sea",
        "regions: everywhere -> us-ord"]  # fmt: skip


def test_a_region_scoped_resize_is_refused_outside_the_launch(
    app, db, client, customer, admin_headers, ada_hosts
):
    assert flip(client, admin_headers, "enable", regions=["us-ord"])[0] == 200
    wait_until(lambda: types(client, customer[1]) >= ADA_IDS)
    standard = {"type": "g6-standard-2", "image": "linode/ubuntu24.04",
                "root_pass": "Ada-Launch-2026!x"}  # fmt: skip
    ids = {}
    for region in ("us-ord", "us-sea"):
        made = client.post("/v4/linode/instances", json={**standard, "region": region},
                           headers=customer[1])  # fmt: skip
        ids[region] = made.get_json()["id"]
        settle(db, ids[region], "offline")  # the agent's create job done
    url = "/v4/linode/instances/{}/resize"
    refused = client.post(url.format(ids["us-sea"]), json={"type": "g2-gpu-rtx4000a1-s"},
                          headers=customer[1])  # fmt: skip
    assert refused.status_code == 400 and refused.get_json()["errors"][0]["field"] == "type"
    grown = client.post(url.format(ids["us-ord"]), json={"type": "g2-gpu-rtx4000a1-s"},
                        headers=customer[1])  # fmt: skip
    assert grown.status_code == 200, grown.get_json()


def test_opening_a_region_with_nothing_to_sell_is_refused_unless_forced(
    app, client, customer, admin_headers, ada_hosts
):
    status, refused = flip(client, admin_headers, "enable", regions=["us-east"])
    assert status == 400
    reason = refused["errors"][0]["reason"]
    assert refused["errors"][0]["field"] == "regions"
    assert "No sellable capacity for gpu-rtx4000-ada in us-east" in reason
    assert "g2-gpu-rtx4000a1-s" in reason  # the capacity table
    assert client.get("/admin/flags/audit", headers=admin_headers).get_json()["data"] == []
    assert flip(client, admin_headers, "enable", regions=["us-east"], force=True)[0] == 200


def test_only_a_launch_flag_takes_a_scope(client, admin_headers):
    for scope in ({"regions": ["us-ord"]}, {"rollout": 10}):
        response = client.post("/admin/flags/gpu-linodes-early-access/enable", json=scope,
                               headers=admin_headers)  # fmt: skip
        assert response.status_code == 400
    bad = [({"regions": ["mars-1"]}, "mars-1 is not a region"),
           ({"rollout": 101}, "rollout must be a percentage from 0 to 100")]  # fmt: skip
    for scope, reason in bad:
        response = flip(client, admin_headers, "enable", **scope)
        assert response[0] == 400 and reason in response[1]["errors"][0]["reason"]
    assert client.get("/admin/flags/audit", headers=admin_headers).get_json()["data"] == []


def test_a_gradual_rollout_is_sticky_per_account(app, client, make_account, admin_headers,
                                                 ada_hosts):  # fmt: skip
    accounts = [make_account()[1] for _ in range(40)]

    def launched():
        return [bool(types(client, h) & ADA_IDS) for h in accounts]

    assert flip(client, admin_headers, "enable", rollout=25)[1]["rollout"] == 25
    time.sleep(1.5)  # the SDK reloads within its refresh interval (1 s here)
    first = launched()
    assert 0 < sum(first) < len(accounts)
    flip(client, admin_headers, "enable", rollout=60)
    time.sleep(1.5)
    second = launched()
    assert sum(second) > sum(first)
    assert all(b for a, b in zip(first, second, strict=True) if a)  # nobody drops out
    flip(client, admin_headers, "enable", rollout=100)
    wait_until(lambda: all(launched()))
    audit = client.get("/admin/flags/audit", headers=admin_headers).get_json()["data"]
    assert audit[0]["change"] == "rollout: 60 -> 100%"
