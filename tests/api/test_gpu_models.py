"""Placement keeps each plan on its own GPU model, in a region that has both."""

import pytest

from cloudapi.services.demo_hosts import RTX4000_ADA
from tests.support.inventory import check_invariants

pytestmark = pytest.mark.usefixtures("mixed_region")

ROOT_PASS = "Two-Models-2026!x"


@pytest.fixture
def mixed_region(add_host):
    """us-ord: one RTX 6000 host (1 node x 2 GPUs) and one RTX 4000 Ada host (1 x 2)."""
    older = add_host("rtx6000.us-ord", "us-ord", nodes=1, gpus_per_node=2)
    return older, add_host("ada.us-ord", "us-ord", nodes=1, gpus_per_node=2, gpu=RTX4000_ADA)


def create(client, headers, plan):
    body = {"type": plan, "region": "us-ord", "image": "linode/ubuntu24.04",
            "root_pass": ROOT_PASS}  # fmt: skip
    return client.post("/v4/linode/instances", json=body, headers=headers)


def host_of(client, admin_headers, linode_id):
    report = client.get("/admin/capacity?region=us-ord", headers=admin_headers).get_json()
    for region in report["regions"]:
        for host in region["hosts"]:
            for node in host["numa_nodes"]:
                if any(g["instance_id"] == linode_id for g in node["gpus"]):
                    return host["hostname"], {g["model"] for g in node["gpus"]}
    return None


def test_each_plan_lands_on_its_own_model(client, db, employee, admin_headers):
    _, staff = employee
    ada = create(client, staff, "g2-gpu-rtx4000a1-s")
    older = create(client, staff, "g1-gpu-rtx6000-1")
    assert ada.status_code == older.status_code == 200
    assert host_of(client, admin_headers, ada.get_json()["id"]) == (
        "ada.us-ord", {"RTX 4000 Ada Generation"})  # fmt: skip
    assert host_of(client, admin_headers, older.get_json()["id"]) == (
        "rtx6000.us-ord", {"Quadro RTX 6000/8000"})  # fmt: skip
    check_invariants(db)


def test_a_full_model_is_refused_while_the_other_has_room(client, db, employee, admin_headers):
    _, staff = employee
    assert create(client, staff, "g2-gpu-rtx4000a2-s").status_code == 200  # both Ada GPUs
    refused = create(client, staff, "g2-gpu-rtx4000a1-s")
    assert refused.status_code == 400, refused.get_json()
    assert refused.get_json()["errors"][0]["field"] == "type"
    # The RTX 6000 host's two free GPUs were never offered to the Ada plan.
    assert create(client, staff, "g1-gpu-rtx6000-2").status_code == 200
    availability = client.get("/v4/regions/us-ord/availability", headers=staff).get_json()
    assert {a["plan"] for a in availability if a["available"]} == set()
    sellable = client.get("/admin/capacity?region=us-ord", headers=admin_headers).get_json()
    hosts = {h["hostname"]: h["sellable"] for h in sellable["regions"][0]["hosts"]}
    assert set(hosts["ada.us-ord"]) == {p for p in hosts["ada.us-ord"] if p.startswith("g2-")}
    assert set(hosts["rtx6000.us-ord"]) == {f"g1-gpu-rtx6000-{n}" for n in range(1, 5)}
    check_invariants(db)


def test_a_resize_moves_to_the_new_plans_model(client, db, employee, admin_headers):
    from tests.support.rows import settle

    _, staff = employee
    made = create(client, staff, "g2-gpu-rtx4000a1-s").get_json()
    settle(db, made["id"], "offline")
    resized = client.post(f"/v4/linode/instances/{made['id']}/resize",
                          json={"type": "g1-gpu-rtx6000-1"}, headers=staff)  # fmt: skip
    assert resized.status_code == 200, resized.get_json()
    assert host_of(client, admin_headers, made["id"])[0] == "rtx6000.us-ord"
    check_invariants(db)
