"""GPU placement and reservation through the API, and the capacity it leaves."""

import pytest

from tests.support.inventory import check_invariants
from tests.support.rows import counts

RTX6000 = {f"g1-gpu-rtx6000-{n}" for n in range(1, 5)}

BODY = {"region": "us-east", "image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x"}


def gpu(n):
    return {**BODY, "type": f"g1-gpu-rtx6000-{n}"}


def capacity(client, admin_headers, region="us-east"):
    report = client.get(f"/admin/capacity?region={region}", headers=admin_headers).get_json()
    return report["regions"][0] if report["regions"] else None


@pytest.fixture
def staff(employee):
    return employee[1]


def test_a_gpu_create_reserves_one_numa_node(client, staff, gpu_hosts, admin_headers, db):
    linode = client.post("/v4/linode/instances", json=gpu(2), headers=staff).get_json()
    region = capacity(client, admin_headers)
    assert (region["gpus_total"], region["gpus_allocated"], region["gpus_free"]) == (16, 2, 14)
    held = [
        (h["hostname"], n["node"], g["pci_address"])
        for h in region["hosts"] for n in h["numa_nodes"] for g in n["gpus"]
        if g["instance_id"] == linode["id"]
    ]  # fmt: skip
    assert len(held) == 2 and len({(h, n) for h, n, _ in held}) == 1
    hosts = {h["hostname"]: h["uuid"] for h in region["hosts"]}
    assert linode["host_uuid"] == hosts[held[0][0]]
    check_invariants(db)


def test_no_capacity_is_a_clean_400_that_writes_nothing(client, staff, add_host, db):
    add_host("gpu-1.us-east")  # 2 nodes x 4 GPUs
    for _ in range(2):
        assert client.post("/v4/linode/instances", json=gpu(4), headers=staff).status_code == 200
    before = counts(db)
    full = client.post("/v4/linode/instances", json=gpu(1), headers=staff)
    assert full.status_code == 400
    (error,) = full.get_json()["errors"]
    assert error["field"] == "type" and error["reason"].startswith(
        "No capacity for g1-gpu-rtx6000-1"
    )
    assert counts(db) == before
    check_invariants(db)


def test_strict_refuses_a_split_and_preferred_accepts_it(client, staff, add_host, db):
    add_host("gpu-1.us-east")
    for _ in range(2):
        client.post("/v4/linode/instances", json=gpu(3), headers=staff)  # one GPU left per node
    strict = client.post("/v4/linode/instances", json=gpu(2), headers=staff)
    assert (
        strict.status_code == 400 and "single NUMA node" in strict.get_json()["errors"][0]["reason"]
    )
    preferred = client.post("/v4/linode/instances", json={**gpu(2), "numa_affinity": "preferred"},
                            headers=staff)  # fmt: skip
    assert preferred.status_code == 200
    assert check_invariants(db)["gpus_free"] == 0


def test_delete_frees_exactly_once(client, staff, gpu_hosts, admin_headers, db):
    ids = [client.post("/v4/linode/instances", json=gpu(n), headers=staff).get_json()["id"]
           for n in (1, 2, 4)]  # fmt: skip
    assert capacity(client, admin_headers)["gpus_free"] == 16 - 7
    url = f"/v4/linode/instances/{ids[2]}"
    assert client.delete(url, headers=staff).status_code == 200
    assert capacity(client, admin_headers)["gpus_free"] == 16 - 3
    assert client.delete(url, headers=staff).status_code == 404
    assert capacity(client, admin_headers)["gpus_free"] == 16 - 3
    check_invariants(db)


def test_maintenance_takes_no_new_instances_and_keeps_running_ones(
    client, staff, add_host, admin_headers, db
):
    add_host("gpu-1.us-east")
    add_host("gpu-2.us-east")
    kept = client.post("/v4/linode/instances", json=gpu(4), headers=staff).get_json()
    region = capacity(client, admin_headers)
    home = next(h["hostname"] for h in region["hosts"] if h["gpus_allocated"])
    other = next(h["hostname"] for h in region["hosts"] if h["hostname"] != home)
    response = client.post(f"/admin/hosts/{home}/status", json={"status": "maintenance"},
                           headers=admin_headers)  # fmt: skip
    assert response.get_json()["status"] == "maintenance"
    for _ in range(2):
        made = client.post("/v4/linode/instances", json=gpu(4), headers=staff)
        assert made.status_code == 200
    region = capacity(client, admin_headers)
    by_name = {h["hostname"]: h for h in region["hosts"]}
    assert by_name[home]["gpus_allocated"] == 4 and by_name[other]["gpus_allocated"] == 8
    assert by_name[home]["sellable"] == {f"g1-gpu-rtx6000-{n}": 0 for n in range(1, 5)}
    assert client.get(f"/v4/linode/instances/{kept['id']}", headers=staff).status_code == 200
    assert client.post("/v4/linode/instances", json=gpu(1), headers=staff).status_code == 400
    bad = client.post(
        f"/admin/hosts/{home}/status", json={"status": "asleep"}, headers=admin_headers
    )
    assert bad.status_code == 400
    assert client.post("/admin/hosts/nope/status", json={"status": "active"},
                       headers=admin_headers).status_code == 404  # fmt: skip


def test_sellable_counts_fragmentation(client, staff, add_host, admin_headers):
    add_host("gpu-1.us-east")
    plans = [f"g1-gpu-rtx6000-{n}" for n in range(1, 5)]
    assert [capacity(client, admin_headers)["sellable"][p] for p in plans] == [8, 4, 2, 2]
    client.post("/v4/linode/instances", json=gpu(1), headers=staff)
    # node 0 keeps 3 GPUs: one more 3-GPU instance there, and node 1 is whole
    assert [capacity(client, admin_headers)["sellable"][p] for p in plans] == [7, 3, 2, 1]


def test_region_capability_and_availability_follow_the_hosts(
    client, staff, customer, add_host, admin_headers
):
    def caps(region):
        return client.get(f"/v4/regions/{region}", headers=staff).get_json()["capabilities"]

    assert "GPU Linodes" not in caps("us-east")  # no hosts yet
    add_host("gpu-1.us-east", nodes=1, gpus_per_node=4)
    assert "GPU Linodes" in caps("us-east") and "GPU Linodes" not in caps("eu-central")
    plans = client.get("/v4/regions/us-east/availability", headers=staff).get_json()
    assert {(p["plan"], p["available"]) for p in plans if p["plan"] in RTX6000} == {
        (f"g1-gpu-rtx6000-{n}", True) for n in range(1, 5)
    }  # fmt: skip
    # No RTX 4000 Ada hosts in us-east: those plans are listed, unavailable.
    assert {p["available"] for p in plans if p["plan"] not in RTX6000} == {False}
    assert client.get("/v4/regions/us-east/availability", headers=customer[1]).get_json() == []
    client.post("/v4/linode/instances", json=gpu(3), headers=staff)
    plans = client.get("/v4/regions/us-east/availability", headers=staff).get_json()
    assert {p["plan"]: p["available"] for p in plans if p["plan"] in RTX6000} == {
        "g1-gpu-rtx6000-1": True, "g1-gpu-rtx6000-2": False,
        "g1-gpu-rtx6000-3": False, "g1-gpu-rtx6000-4": False,
    }  # fmt: skip
    client.post("/v4/linode/instances", json=gpu(1), headers=staff)
    account = client.get("/v4/account/availability/us-east", headers=staff).get_json()
    assert "GPU Linodes" in account["unavailable"]  # sold out
    listing = client.get("/v4/regions/availability", headers=staff).get_json()
    gpu_plans = [t for t in client.get("/v4/linode/types", headers=staff).get_json()["data"]
                 if t["gpus"]]  # fmt: skip
    assert listing["results"] == len(gpu_plans) * len(client.get("/v4/regions").get_json()["data"])
    client.post("/admin/hosts/gpu-1.us-east/status", json={"status": "maintenance"},
                headers=admin_headers)  # fmt: skip
    assert "GPU Linodes" not in caps("us-east")


def test_register_hosts_through_the_admin_api(client, admin_headers, customer):
    from cloudapi.services.demo_hosts import describe

    doc = describe("gpu-9.eu-central", "eu-central")
    made = client.post("/admin/hosts", json=doc, headers=admin_headers)
    assert made.status_code == 200 and len(made.get_json()["gpus"]) == 8
    again = client.post("/admin/hosts", json=doc, headers=admin_headers)
    assert again.status_code == 400 and again.get_json()["errors"][0]["field"] == "hostname"
    bad = {**doc, "hostname": "gpu-10", "region": "mars-1",
           "gpus": [{**doc["gpus"][0], "numa_node": 7, "pci_address": "zz"}]}  # fmt: skip
    errors = client.post("/admin/hosts", json=bad, headers=admin_headers).get_json()["errors"]
    assert {e["field"] for e in errors} == {"gpus[0].pci_address"}
    listed = client.get("/admin/hosts?region=eu-central", headers=admin_headers).get_json()
    assert [h["hostname"] for h in listed["data"]] == ["gpu-9.eu-central"]
    assert client.get("/admin/hosts/gpu-9.eu-central", headers=admin_headers).status_code == 200
    assert client.get("/admin/hosts/nope", headers=admin_headers).status_code == 404
    for headers in ({}, customer[1]):
        assert client.get("/admin/capacity", headers=headers).status_code == 401
        assert client.post("/admin/hosts", json=doc, headers=headers).status_code == 401
