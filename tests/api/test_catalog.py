"""Plan types, regions and images: public, paginated, filterable, GPU plans hidden."""

import json

import pytest

GPU_IDS = {f"g1-gpu-rtx6000-{n}" for n in range(1, 5)}
TYPE_KEYS = {
    "id", "label", "class", "disk", "memory", "vcpus", "gpus", "accelerated_devices",
    "network_out", "transfer", "price", "region_prices", "addons", "successor",
}  # fmt: skip


def test_types_are_public_and_paginated(client):
    body = client.get("/v4/linode/types").get_json()
    assert body["page"] == 1 and body["pages"] == 1
    assert body["results"] == len(body["data"]) > 0
    for item in body["data"]:
        assert set(item) == TYPE_KEYS


def test_gpu_plans_are_hidden_without_the_feature(client, customer):
    _, headers = customer
    for h in ({}, headers):
        ids = {t["id"] for t in client.get("/v4/linode/types", headers=h).get_json()["data"]}
        assert ids and not ids & GPU_IDS
        assert client.get("/v4/linode/types/g1-gpu-rtx6000-1", headers=h).status_code == 404


def test_standard_plan_has_linode_values(client):
    plan = client.get("/v4/linode/types/g6-standard-2").get_json()
    assert plan == {
        "id": "g6-standard-2", "label": "Linode 4GB", "class": "standard", "disk": 81920,
        "memory": 4096, "vcpus": 2, "gpus": 0, "accelerated_devices": 0, "network_out": 4000,
        "transfer": 4000, "price": {"hourly": 0.036, "monthly": 24.0},
        "region_prices": [{"id": "id-cgk", "hourly": 0.0432, "monthly": 28.8},
                          {"id": "br-gru", "hourly": 0.0504, "monthly": 33.6}],
        "addons": {"backups": {"price": {"hourly": 0.008, "monthly": 5.0}, "region_prices": []}},
        "successor": None,
    }  # fmt: skip


def test_region_prices_where_linode_charges_more_and_none_for_gpus(client, employee):
    """Jakarta and Sao Paulo cost more (the Nanode's are Linode's own); GPUs have none."""
    nanode = client.get("/v4/linode/types/g6-nanode-1").get_json()
    assert nanode["region_prices"] == [
        {"id": "id-cgk", "hourly": 0.009, "monthly": 6.0},
        {"id": "br-gru", "hourly": 0.0105, "monthly": 7.0},
    ]
    gpu = client.get("/v4/linode/types/g1-gpu-rtx6000-1", headers=employee[1]).get_json()
    assert gpu["region_prices"] == []


def test_unknown_type_is_404_json(client):
    response = client.get("/v4/linode/types/g9-nothing")
    assert response.status_code == 404
    assert response.get_json() == {"errors": [{"reason": "Not found"}]}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"class": "dedicated"}, {"g6-dedicated-2", "g6-dedicated-4", "g6-dedicated-8"}),
        ({"vcpus": {"+gte": 6}}, {"g6-standard-6", "g6-dedicated-8"}),
        ({"+or": [{"class": "nanode"}, {"memory": 2048}]}, {"g6-nanode-1", "g6-standard-1"}),
        ({"+and": [{"class": "standard"}, {"vcpus": {"+lt": 2}}]}, {"g6-standard-1"}),
        ({"label": {"+contains": "dedicated 8"}}, {"g6-dedicated-4"}),
        ({"class": {"+neq": "standard"}, "vcpus": {"+lte": 2}}, {"g6-nanode-1", "g6-dedicated-2"}),
        ({"class": "gpu"}, set()),
    ],
)
def test_types_x_filter(client, flt, expected):
    response = client.get("/v4/linode/types", headers={"X-Filter": json.dumps(flt)})
    assert response.status_code == 200
    assert {t["id"] for t in response.get_json()["data"]} == expected


def test_types_order_by(client):
    flt = {"+order_by": "memory", "+order": "desc", "class": "standard"}
    data = client.get("/v4/linode/types", headers={"X-Filter": json.dumps(flt)}).get_json()["data"]
    memories = [t["memory"] for t in data]
    assert memories == sorted(memories, reverse=True) and len(memories) == 4


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1]",
        json.dumps({"id": "g6-nanode-1"}),  # id is not filterable on types
        json.dumps({"vcpus": "two"}),
        json.dumps({"vcpus": {"+like": 1}}),
        json.dumps({"class": {"+gt": "a", "+lt": "z"}}),
        json.dumps({"+order_by": "price"}),
        json.dumps({"+order_by": "vcpus", "+order": "sideways"}),
        json.dumps({"+and": {}}),
        json.dumps({"class": "x'; DROP TABLE linode_types; --"}) + "{",
    ],
)
def test_bad_x_filter_is_400(client, raw):
    response = client.get("/v4/linode/types", headers={"X-Filter": raw})
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "X-Filter"


def test_regions_shape_and_gpu_capability_hidden(client):
    body = client.get("/v4/regions").get_json()
    ids = {r["id"] for r in body["data"]}
    assert {"us-east", "us-west", "eu-central", "ap-south"} <= ids
    east = client.get("/v4/regions/us-east").get_json()
    assert east["resolvers"]["ipv4"].count(",") == 1
    assert east["site_type"] == "core" and east["status"] == "ok"
    assert "Linodes" in east["capabilities"]
    assert "GPU Linodes" not in east["capabilities"]


def test_regions_filter_by_country(client):
    flt = json.dumps({"country": "us"})
    data = client.get("/v4/regions", headers={"X-Filter": flt}).get_json()["data"]
    everything = client.get("/v4/regions").get_json()["data"]
    assert {r["id"] for r in data} == {r["id"] for r in everything if r["country"] == "us"}
    assert {"us-east", "us-west", "us-ord", "us-sea", "us-southeast"} <= {r["id"] for r in data}


def test_images_catalog(client):
    body = client.get("/v4/images").get_json()
    ids = {i["id"] for i in body["data"]}
    assert {"linode/debian12", "linode/ubuntu24.04"} <= ids
    image = client.get("/v4/images/linode/debian12").get_json()
    assert image["vendor"] == "Debian" and image["is_public"] is True
    assert client.get("/v4/images/linode/nothing").status_code == 404


def test_single_object_get_ignores_page_params(client):
    response = client.get("/v4/linode/types/g6-nanode-1?page=1&page_size=100")
    assert response.status_code == 200 and response.get_json()["id"] == "g6-nanode-1"
