"""What the GPU feature gates, for whom, and the launch and rollback by one flip."""

import json
import time

import pytest

from tests.support.rows import counts, set_status

pytestmark = pytest.mark.usefixtures("gpu_hosts")  # GPU hosts in us-east

GPU_IDS = {f"g1-gpu-rtx6000-{n}" for n in range(1, 5)}
GPU_BODY = {"type": "g1-gpu-rtx6000-1", "region": "us-east", "image": "linode/ubuntu24.04",
            "root_pass": "Gpu-Demo-2026!x"}  # fmt: skip
LAUNCH = "gpu-linodes-launch"


def type_ids(client, headers=None):
    body = client.get("/v4/linode/types", headers=headers or {}).get_json()
    return {t["id"] for t in body["data"]}


def gpu_visible(client, headers=None):
    return type_ids(client, headers) & GPU_IDS


def wait_until(check, timeout=5.0):
    """Poll `check` until true; return the seconds it took (fails after `timeout`)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, "condition not reached in time"
        time.sleep(0.05)
    return time.monotonic() - start


def test_employees_see_gpu_plans_and_customers_do_not(client, customer, employee):
    assert gpu_visible(client, employee[1]) == GPU_IDS
    assert gpu_visible(client, customer[1]) == set()
    assert gpu_visible(client) == set()  # anonymous: the public view
    plan = client.get("/v4/linode/types/g1-gpu-rtx6000-4", headers=employee[1]).get_json()
    assert (plan["gpus"], plan["vcpus"], plan["memory"], plan["price"]["monthly"]) == (
        4, 24, 131072, 4000.0
    )  # fmt: skip
    for headers in (customer[1], {}):
        assert client.get("/v4/linode/types/g1-gpu-rtx6000-4", headers=headers).status_code == 404


def test_gpu_class_filter_for_employees(client, employee):
    headers = {**employee[1], "X-Filter": json.dumps({"class": "gpu", "gpus": {"+gte": 2}})}
    data = client.get("/v4/linode/types", headers=headers).get_json()["data"]
    assert {t["id"] for t in data} & GPU_IDS == {
        "g1-gpu-rtx6000-2", "g1-gpu-rtx6000-3", "g1-gpu-rtx6000-4"
    }  # fmt: skip
    assert all(t["gpus"] >= 2 for t in data)  # the RTX 4000 Ada x2 and x4 plans too


def test_ex_employee_tag_is_not_employee(client, make_account):
    _, headers = make_account(tags=("ex-employee", "employees"))
    assert gpu_visible(client, headers) == set()


def test_capabilities_follow_the_feature(client, customer, employee):
    def caps(path, headers):
        return client.get(path, headers=headers).get_json()["capabilities"]

    assert "GPU Linodes" in caps("/v4/regions/us-east", employee[1])
    assert "GPU Linodes" not in caps("/v4/regions/us-west", employee[1])  # no GPUs there
    assert "GPU Linodes" not in caps("/v4/regions/us-east", customer[1])
    assert "GPU Linodes" in caps("/v4/account", employee[1])
    assert "GPU Linodes" not in caps("/v4/account", customer[1])
    regions = client.get("/v4/regions", headers=customer[1]).get_json()["data"]
    assert all("GPU Linodes" not in r["capabilities"] for r in regions)


def test_account_availability(client, customer, employee):
    east = client.get("/v4/account/availability/us-east", headers=employee[1]).get_json()
    assert "GPU Linodes" in east["available"] and east["unavailable"] == []
    west = client.get("/v4/account/availability/us-west", headers=employee[1]).get_json()
    assert west["unavailable"] == ["GPU Linodes"]
    listing = client.get("/v4/account/availability", headers=customer[1]).get_json()
    assert listing["results"] == len(listing["data"]) >= 4
    assert all(item["unavailable"] == [] for item in listing["data"])  # nothing said pre-launch
    assert client.get("/v4/account/availability/mars-1", headers=customer[1]).status_code == 404


def test_hidden_gpu_create_answers_like_a_nonexistent_type(client, customer, db):
    before = counts(db)
    hidden = client.post("/v4/linode/instances", json=GPU_BODY, headers=customer[1])
    missing = client.post("/v4/linode/instances", json={**GPU_BODY, "type": "g9-nothing-1"},
                          headers=customer[1])  # fmt: skip
    assert hidden.status_code == missing.status_code == 400
    assert hidden.get_json() == missing.get_json()
    assert counts(db) == before


def test_employee_creates_a_gpu_instance(client, employee):
    response = client.post("/v4/linode/instances", json=GPU_BODY, headers=employee[1])
    assert response.status_code == 200
    assert response.get_json()["specs"]["gpus"] == 1
    west = client.post("/v4/linode/instances", json={**GPU_BODY, "region": "us-west"},
                       headers=employee[1])  # fmt: skip
    assert west.status_code == 400 and west.get_json()["errors"][0]["field"] == "region"


def test_gpu_only_parameter_is_unknown_without_the_feature(client, customer, employee):
    body = {**GPU_BODY, "type": "g6-standard-2", "numa_affinity": "strict"}
    hidden = client.post("/v4/linode/instances", json=body, headers=customer[1])
    other = {**GPU_BODY, "type": "g6-standard-2", "warp_drive": "strict"}
    unknown = client.post("/v4/linode/instances", json=other, headers=customer[1])
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.get_json()["errors"] == [{"field": "numa_affinity", "reason": "Unknown field"}]
    assert unknown.get_json()["errors"] == [{"field": "warp_drive", "reason": "Unknown field"}]
    # With the feature: accepted on GPU plans, refused on others, checked for value.
    ok = client.post("/v4/linode/instances", json={**GPU_BODY, "numa_affinity": "preferred"},
                     headers=employee[1])  # fmt: skip
    assert ok.status_code == 200
    standard = client.post("/v4/linode/instances", json=body, headers=employee[1])
    assert standard.get_json()["errors"] == [
        {"field": "numa_affinity", "reason": "Only available for GPU plans"}
    ]
    bad = client.post("/v4/linode/instances", json={**GPU_BODY, "numa_affinity": "loose"},
                      headers=employee[1])  # fmt: skip
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "numa_affinity"


def test_a_new_tag_takes_effect_on_the_next_request(client, customer, admin_headers):
    account_id, headers = customer
    assert gpu_visible(client, headers) == set()
    client.post(f"/admin/accounts/{account_id}/tags", json={"tag": "employee"},
                headers=admin_headers)  # fmt: skip
    assert gpu_visible(client, headers) == GPU_IDS
    client.delete(f"/admin/accounts/{account_id}/tags/employee", headers=admin_headers)
    assert gpu_visible(client, headers) == set()


@pytest.fixture
def fast_app(make_app):
    """An app whose flag client re-reads the flag state every second."""
    return make_app(UNLEASH_REFRESH_INTERVAL=1)


def test_launch_and_rollback_by_one_flip(fast_app, make_account, admin_headers):
    client = fast_app.test_client()
    _, customer = make_account()
    _, employee = make_account(tags=("employee",))
    assert gpu_visible(client, customer) == set()

    flip = client.post(f"/admin/flags/{LAUNCH}/enable", headers=admin_headers).get_json()
    assert (flip["from"], flip["to"]) == (False, True)
    wait_until(lambda: gpu_visible(client, customer) == GPU_IDS, timeout=3.0)
    assert gpu_visible(client) == GPU_IDS  # anonymous too, once launched
    created = client.post("/v4/linode/instances", json=GPU_BODY, headers=customer)
    assert created.status_code == 200
    linode_id = created.get_json()["id"]

    client.post(f"/admin/flags/{LAUNCH}/disable", headers=admin_headers)
    wait_until(lambda: gpu_visible(client, customer) == set(), timeout=3.0)
    assert gpu_visible(client, employee) == GPU_IDS  # employees keep access
    again = client.post("/v4/linode/instances", json=GPU_BODY, headers=customer)
    assert again.status_code == 400 and again.get_json()["errors"][0]["field"] == "type"

    # The customer's existing GPU instance still works after the rollback.
    url = f"/v4/linode/instances/{linode_id}"
    assert client.get(url, headers=customer).get_json()["specs"]["gpus"] == 1
    plan = client.get("/v4/linode/types/g1-gpu-rtx6000-1", headers=customer)
    assert plan.status_code == 200  # owners can still read their plan
    set_status(fast_app.extensions["cloudapi.db"], linode_id, "running")
    assert client.post(f"{url}/shutdown", headers=customer).status_code == 200
    set_status(fast_app.extensions["cloudapi.db"], linode_id, "offline")
    assert client.post(f"{url}/boot", headers=customer).status_code == 200
    assert client.delete(url, headers=customer).status_code == 200
    assert client.get("/v4/linode/types/g1-gpu-rtx6000-1", headers=customer).status_code == 404

    audit = client.get("/admin/flags/audit", headers=admin_headers).get_json()["data"]
    assert [(a["flag"], a["from"], a["to"]) for a in audit[:2]] == [
        (LAUNCH, True, False), (LAUNCH, False, True)
    ]  # fmt: skip
    assert all(a["actor"].startswith("admin token #") for a in audit[:2])


def test_flag_admin_endpoints(client, admin_headers, customer):
    listed = client.get("/admin/flags", headers=admin_headers).get_json()
    assert listed["mode"] == "embedded"
    states = {f["name"]: f["enabled"] for f in listed["data"]}
    assert states == {
        "gpu-linodes-early-access": True, LAUNCH: False,
        "gpu-rtx4000-ada-early-access": True, "gpu-rtx4000-ada-launch": False,
    }  # fmt: skip
    assert client.post("/admin/flags/nope/enable", headers=admin_headers).status_code == 404
    for headers in ({}, customer[1]):
        assert client.get("/admin/flags", headers=headers).status_code == 401
        assert client.post(f"/admin/flags/{LAUNCH}/enable", headers=headers).status_code == 401
    assert client.get("/admin/flags/audit", headers=admin_headers).get_json()["data"] == []


def test_gpu_beta_enrollment(client, customer, admin_headers):
    _, headers = customer
    assert client.get("/v4/betas", headers=headers).get_json()["data"] == []
    closed = client.post("/v4/account/betas", json={"id": "gpu-beta"}, headers=headers)
    assert closed.status_code == 400 and closed.get_json()["errors"][0]["field"] == "id"

    client.post("/admin/betas/gpu-beta/open", headers=admin_headers)
    listed = client.get("/v4/betas", headers=headers).get_json()["data"]
    assert [b["id"] for b in listed] == ["gpu-beta"] and listed[0]["ended"] is None
    assert client.get("/v4/betas/gpu-beta", headers=headers).status_code == 200
    for _ in range(2):  # enrolling twice changes nothing
        assert (
            client.post("/v4/account/betas", json={"id": "gpu-beta"}, headers=headers).get_json()
            == {}
        )
    enrolled = client.get("/v4/account/betas", headers=headers).get_json()
    assert [b["id"] for b in enrolled["data"]] == ["gpu-beta"] and enrolled["results"] == 1
    assert client.get("/v4/account/betas/gpu-beta", headers=headers).get_json()["enrolled"]
    assert gpu_visible(client, headers) == GPU_IDS

    client.post("/admin/betas/gpu-beta/close", headers=admin_headers)
    assert client.get("/v4/betas", headers=headers).get_json()["data"] == []
    assert client.get("/v4/betas/gpu-beta", headers=headers).status_code == 404
    assert gpu_visible(client, headers) == GPU_IDS  # enrolled accounts keep the beta


@pytest.mark.parametrize(
    "body", [{}, {"id": 5}, {"id": "no-such-beta"}, {"id": "gpu-beta", "extra": 1}]
)
def test_bad_enrollments(client, customer, body):
    response = client.post("/v4/account/betas", json=body, headers=customer[1])
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"]


def test_enrollment_needs_account_write_scope(client, make_account):
    _, headers = make_account(scopes="account:read_only")
    assert client.get("/v4/account/betas", headers=headers).status_code == 200
    assert (
        client.post("/v4/account/betas", json={"id": "gpu-beta"}, headers=headers).status_code
        == 401
    )


def test_a_tag_added_elsewhere_applies_within_the_auth_cache(client, customer, db):
    """Another process (the CLI here) tags the account: seen within AUTH_CACHE_SECONDS."""
    from cloudapi.services import accounts

    account_id, headers = customer
    assert gpu_visible(client, headers) == set()
    with db.transaction() as session:
        accounts.tag(session, account_id, "employee")
    took = wait_until(lambda: gpu_visible(client, headers) == GPU_IDS, timeout=3.0)
    assert took <= 1.0 + 0.5  # AUTH_CACHE_SECONDS (1 s) plus polling


def test_without_the_auth_cache_a_tag_applies_on_the_next_request(make_app, make_account, db):
    from cloudapi.services import accounts

    client = make_app(AUTH_CACHE_SECONDS=0).test_client()
    account_id, headers = make_account()
    assert gpu_visible(client, headers) == set()
    with db.transaction() as session:
        accounts.tag(session, account_id, "employee")
    assert gpu_visible(client, headers) == GPU_IDS
