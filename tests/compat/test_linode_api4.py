"""linode_api4 (the official Python SDK), unmodified, against the server on loopback."""

from datetime import datetime

import pytest
from linode_api4 import ApiError, Event, Instance, Region, Type

from tests.compat.conftest import GPU_PREFIX, STANDARD_TYPE_IDS, STRONG_PASSWORD, TYPE_KEYS

pytestmark = pytest.mark.slow  # starts a live server


@pytest.fixture
def api(sdk, make_token):
    """An SDK client for a fresh customer with every scope."""
    return sdk(make_token())


def _server_list(client, path, headers=None):
    """Everything the server lists at `path`, read through the Flask test client."""
    body = client.get(f"/v4{path}?page_size=500", headers=headers or {}).get_json()
    assert body["pages"] == 1
    return body["data"]


def test_types_list_has_every_key(api, client):
    types = list(api.linode.types())
    expected = {t["id"]: t for t in _server_list(client, "/linode/types")}
    assert {t.id for t in types} == set(expected)
    assert set(expected) >= STANDARD_TYPE_IDS
    assert not any(t.id.startswith(GPU_PREFIX) for t in types)
    for t in types:
        assert isinstance(t, Type)
        assert set(t._raw_json) == TYPE_KEYS  # the JSON the SDK received
        assert t.type_class == expected[t.id]["class"]
        assert t.price.hourly == expected[t.id]["price"]["hourly"]
        assert isinstance(t.price.monthly, float)
        assert isinstance(t.vcpus, int) and isinstance(t.memory, int)
        backups = expected[t.id]["addons"]["backups"]["price"]
        assert t.addons.backups.price.monthly == backups["monthly"]
    standard = next(t for t in types if t.id == "g6-standard-2")
    assert (standard.label, standard.type_class, standard.vcpus) == ("Linode 4GB", "standard", 2)
    assert standard.price.hourly == 0.036


def test_types_filters_are_applied_by_the_server(api, client):
    everything = _server_list(client, "/linode/types")

    dedicated = list(api.linode.types(Type.type_class == "dedicated"))
    want = {t["id"] for t in everything if t["class"] == "dedicated"}
    assert want and {t.id for t in dedicated} == want
    assert all(t.type_class == "dedicated" for t in dedicated)

    big = list(api.linode.types(Type.vcpus >= 4))
    want = {t["id"] for t in everything if t["vcpus"] >= 4}
    assert want and {t.id for t in big} == want
    assert len(want) < len(everything)  # the filter really removed something

    both = list(api.linode.types(Type.type_class == "dedicated", Type.vcpus >= 4))
    want = {t["id"] for t in everything if t["class"] == "dedicated" and t["vcpus"] >= 4}
    assert want and {t.id for t in both} == want


def test_type_lazy_loads_from_the_detail_endpoint(api):
    plan = Type(api, "g6-standard-2")
    assert plan.vcpus == 2  # first attribute read: GET /linode/types/g6-standard-2
    assert plan.type_class == "standard"
    assert plan.label == "Linode 4GB"
    assert plan.price.monthly == 24.0


def test_regions(api, client):
    regions = list(api.regions())
    expected = {r["id"]: r for r in _server_list(client, "/regions")}
    assert {r.id for r in regions} == set(expected) and "us-east" in expected
    for r in regions:
        assert isinstance(r, Region)
        assert isinstance(r.capabilities, list) and "Linodes" in r.capabilities
        assert sorted(r.capabilities) == sorted(expected[r.id]["capabilities"])
        assert r.site_type in ("core", "distributed")
        assert r.status in ("ok", "outage")
        assert r.resolvers.ipv4 == expected[r.id]["resolvers"]["ipv4"]
        assert r.resolvers.ipv6 == expected[r.id]["resolvers"]["ipv6"]
        assert r.placement_group_limits.maximum_linodes_per_pg == 5
    # A normal account does not see the gated GPU capability.
    assert not any("GPU Linodes" in r.capabilities for r in regions)
    assert Region(api, "us-east").label == expected["us-east"]["label"]  # lazy load


def test_instance_create_get_events_delete(api):
    inst = api.linode.instance_create(
        "g6-standard-2",
        "us-east",
        image="linode/debian12",
        root_pass=STRONG_PASSWORD,
        label="sdk-test-1",
        tags=["alpha", "beta"],
    )
    assert isinstance(inst, Instance) and isinstance(inst.id, int)
    assert inst.label == "sdk-test-1"
    assert inst.status == "provisioning"
    assert sorted(inst.tags) == ["alpha", "beta"]
    assert isinstance(inst.created, datetime) and isinstance(inst.updated, datetime)
    assert inst.specs.vcpus == 2 and inst.specs.gpus == 0
    assert inst.region.id == "us-east"
    assert inst.type.id == "g6-standard-2"
    assert inst.type.label == "Linode 4GB"  # lazy-loads GET /linode/types/g6-standard-2
    assert inst.region.label  # lazy-loads GET /regions/us-east

    fetched = api.load(Instance, inst.id)
    assert (fetched.id, fetched.label, fetched.status) == (inst.id, "sdk-test-1", "provisioning")
    assert fetched.created == inst.created
    assert [i.id for i in api.linode.instances()] == [inst.id]
    assert [i.id for i in api.linode.instances(Instance.label == "sdk-test-1")] == [inst.id]

    creates = [
        e for e in api.account.events(Event.action == "linode_create") if e.entity.id == inst.id
    ]
    assert len(creates) == 1
    event = creates[0]
    assert event.entity.type == "linode" and event.entity.label == "sdk-test-1"
    assert isinstance(event.created, datetime)
    assert event.linode.id == inst.id

    assert inst.delete() is True
    with pytest.raises(ApiError) as missing:
        api.load(Instance, inst.id)
    assert missing.value.status == 404
    assert list(api.linode.instances()) == []
    assert any(e.action == "linode_delete" and e.entity.id == inst.id for e in api.account.events())


def test_instances_iterate_across_pages(app, make_account, sdk):
    _, headers = make_account()
    http = app.test_client()
    created = []
    for n in range(120):
        body = {"type": "g6-nanode-1", "region": "us-east", "label": f"bulk-{n:03d}"}
        response = http.post("/v4/linode/instances", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        created.append(response.get_json()["id"])

    token = headers["Authorization"].removeprefix("Bearer ")
    for page_size in (None, 25, 50):
        api = sdk(token) if page_size is None else sdk(token, page_size=page_size)
        listed = api.linode.instances()
        assert len(listed) == 120
        assert [i.id for i in listed] == sorted(created)  # walks every page, no "List has changed"
        assert listed[-1].id == max(created) and listed[60].id == sorted(created)[60]
        assert {i.label for i in listed} == {f"bulk-{n:03d}" for n in range(120)}


def test_bad_label_is_a_400_on_label(api):
    for label in ("x", "-starts-with-dash", "a--b", "a" * 65):
        with pytest.raises(ApiError) as failure:
            api.linode.instance_create("g6-standard-2", "us-east", label=label)
        assert failure.value.status == 400
        assert {e.get("field") for e in failure.value.json["errors"]} == {"label"}, label
        assert "label" in str(failure.value)
    assert list(api.linode.instances()) == []


def test_weak_root_password_is_a_400_on_root_pass(api):
    with pytest.raises(ApiError) as failure:
        api.linode.instance_create(
            "g6-standard-2", "us-east", image="linode/debian12", root_pass="password123"
        )
    assert failure.value.status == 400
    assert [e.get("field") for e in failure.value.json["errors"]] == ["root_pass"]


def test_bad_token_is_401(sdk):
    api = sdk("not-a-real-token")
    with pytest.raises(ApiError) as failure:
        list(api.linode.instances())
    assert failure.value.status == 401
    assert failure.value.errors == ["Invalid Token"]


def test_read_only_token_cannot_create(sdk, make_token):
    api = sdk(make_token(scopes="linodes:read_only"))
    assert list(api.linode.instances()) == []  # reading is allowed
    with pytest.raises(ApiError) as failure:
        api.linode.instance_create("g6-standard-2", "us-east", label="ro-test")
    assert failure.value.status == 401
    assert "not authorized" in failure.value.errors[0]
    assert list(api.linode.instances()) == []
