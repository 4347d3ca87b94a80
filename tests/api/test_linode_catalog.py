"""The catalog is Linode's: its region ids, its public images, its plan order, and
capabilities only for products this cloud really serves."""

import pytest

from cloudapi.services.catalog import CLASS_ORDER

pytestmark = pytest.mark.usefixtures("gpu_hosts")  # GPU hosts in us-east

# Products behind each capability we advertise, and a path that must serve it.
SERVED = {"Linodes": "/v4/linode/instances", "Cloud Firewall": "/v4/networking/firewalls",
          "Metadata": None, "GPU Linodes": None, "Disk Encryption": None}  # fmt: skip


def _all(client, path, headers=None):
    return client.get(f"{path}?page_size=500", headers=headers or {}).get_json()["data"]


def test_plans_come_in_linodes_order(client, employee):
    plans = _all(client, "/v4/linode/types", employee[1])
    assert plans[0]["id"] == "g6-nanode-1"  # what linode-cli's suite takes as its default
    ranks = [CLASS_ORDER.index(p["class"]) for p in plans]
    assert ranks == sorted(ranks)
    assert plans[-1]["class"] == "gpu"
    for one_class in {p["class"] for p in plans}:
        memory = [p["memory"] for p in plans if p["class"] == one_class]
        assert memory == sorted(memory)


@pytest.mark.parametrize(
    ("region", "label", "country"),
    [("us-ord", "Chicago, IL", "us"), ("us-sea", "Seattle, WA", "us"),
     ("us-mia", "Miami, FL", "us"), ("us-southeast", "Atlanta, GA", "us"),
     ("us-east", "Newark, NJ", "us"), ("fr-par", "Paris, FR", "fr"),
     ("ap-west", "Mumbai, IN", "in"), ("jp-osa", "Osaka, JP", "jp")],
)  # fmt: skip
def test_linodes_regions(client, region, label, country):
    found = client.get(f"/v4/regions/{region}").get_json()
    assert (found["label"], found["country"], found["site_type"]) == (label, country, "core")


@pytest.mark.parametrize(
    "image",
    ["linode/alpine3.20", "linode/alpine3.22", "linode/arch", "linode/debian11",
     "linode/debian12", "linode/ubuntu24.04", "linode/rocky9", "linode/fedora42"],
)  # fmt: skip
def test_linodes_public_images(client, image):
    found = client.get(f"/v4/images/{image}")
    assert found.status_code == 200
    assert found.get_json()["is_public"] is True


def test_capabilities_are_only_what_is_served(client, employee):
    regions = _all(client, "/v4/regions", employee[1])
    assert len(regions) >= 25
    for region in regions:
        assert set(region["capabilities"]) <= set(SERVED), region
        assert "Linodes" in region["capabilities"]
    gpu = {r["id"] for r in regions if "GPU Linodes" in r["capabilities"]}
    assert gpu == {"us-east"}  # where the GPU hosts are (ap-south had it stored: gone)
    for path in filter(None, SERVED.values()):
        assert client.get(path, headers=employee[1]).status_code == 200
