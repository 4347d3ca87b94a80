"""An instance's backups, stats, transfer, and the products it has none of.

Shapes follow Linode's spec (get-backups, enable-backups, cancel-backups, get-linode-stats,
get-linode-transfer, get-linode-volumes, get-linode-node-balancers); every response is
also checked against it by the test client. Enabling and cancelling backups are state
changes: one job and one event each, and nothing when nothing changes.
"""

import pytest
from sqlalchemy import select

from cloudapi.db.jobs import Event
from tests.support.rows import counts, jobs_for

URL = "/v4/linode/instances"
BODY = {"type": "g6-standard-2", "region": "us-east", "image": "linode/debian12",
        "root_pass": "Gpu-Demo-2026!x"}  # fmt: skip


@pytest.fixture
def linode(client, customer):
    _, headers = customer
    made = client.post(URL, json=BODY, headers=headers).get_json()
    return f"{URL}/{made['id']}", made, headers


def _events(db, instance_id):
    with db.reader() as session:
        query = select(Event.action).where(Event.entity_id == instance_id).order_by(Event.id)
        return list(session.scalars(query))


def test_backups_are_listed_empty(client, linode):
    url, _, headers = linode
    listed = client.get(f"{url}/backups", headers=headers)
    assert listed.status_code == 200
    assert listed.get_json() == {
        "automatic": [],
        "snapshot": {"current": None, "in_progress": None},
    }


def test_enable_and_cancel_write_one_job_and_event_each(client, linode, db):
    url, made, headers = linode
    assert client.post(f"{url}/backups/enable", headers=headers).get_json() == {}
    assert client.get(url, headers=headers).get_json()["backups"]["enabled"] is True
    before = counts(db)
    assert client.post(f"{url}/backups/enable", headers=headers).status_code == 200
    assert counts(db) == before  # already enabled: nothing written
    assert client.post(f"{url}/backups/cancel", headers=headers).get_json() == {}
    assert client.get(url, headers=headers).get_json()["backups"]["enabled"] is False
    actions = [action for action, _, _ in jobs_for(db, made["id"])]
    assert actions == ["create", "backups_enable", "backups_cancel"]
    assert _events(db, made["id"]) == ["linode_create", "backups_enable", "backups_cancel"]


def test_a_manual_snapshot_is_refused_with_why(client, linode, db):
    url, _, headers = linode
    before = counts(db)
    refused = client.post(f"{url}/backups", json={"label": "snap"}, headers=headers)
    assert refused.status_code == 400
    assert refused.get_json()["errors"][0]["reason"] == "Backups are not enabled for this Linode"
    client.post(f"{url}/backups/enable", headers=headers)
    refused = client.post(f"{url}/backups", json={"label": "snap"}, headers=headers)
    assert "keep no backups" in refused.get_json()["errors"][0]["reason"]
    assert counts(db)["jobs"] == before["jobs"] + 1  # only the enable's


@pytest.mark.parametrize("path", ["backups/1", "backups/1/restore"])
def test_no_backup_exists_to_view_or_restore(client, linode, path):
    url, _, headers = linode
    method = client.post if path.endswith("restore") else client.get
    missing = method(f"{url}/{path}", headers=headers)
    assert missing.status_code == 404 and missing.get_json() == {
        "errors": [{"reason": "Not found"}]
    }


def test_stats_and_transfer_in_linodes_shapes(client, linode):
    url, made, headers = linode
    stats = client.get(f"{url}/stats", headers=headers).get_json()
    assert stats["cpu"] == [] and set(stats["netv4"]) == {"in", "out", "private_in", "private_out"}
    assert made["label"] in stats["title"]
    monthly = client.get(f"{url}/stats/2026/11", headers=headers)
    assert monthly.status_code == 200 and "2026-11" in monthly.get_json()["title"]
    transfer = client.get(f"{url}/transfer", headers=headers).get_json()
    assert transfer == {"used": 0, "quota": made["specs"]["transfer"], "billable": 0}
    month = client.get(f"{url}/transfer/2026/11", headers=headers).get_json()
    assert month == {"bytes_in": 0, "bytes_out": 0, "bytes_total": 0}


@pytest.mark.parametrize("product", ["volumes", "nodebalancers"])
def test_products_not_offered_are_empty_lists(client, linode, product):
    url, _, headers = linode
    page = client.get(f"{url}/{product}", headers=headers).get_json()
    assert page == {"data": [], "page": 1, "pages": 1, "results": 0}


@pytest.mark.parametrize(
    "method, path",
    [("get", "backups"), ("post", "backups/enable"), ("post", "backups/cancel"),
     ("post", "backups"), ("get", "backups/1"), ("get", "stats"), ("get", "transfer"),
     ("get", "transfer/2026/11"), ("get", "volumes"), ("get", "nodebalancers")],
)  # fmt: skip
def test_another_accounts_linode_is_not_found(client, linode, make_account, db, method, path):
    url, _, _ = linode
    _, stranger = make_account()
    before = counts(db)
    response = getattr(client, method)(f"{url}/{path}", headers=stranger)
    assert response.status_code == 404
    assert counts(db) == before


def test_a_read_only_token_cannot_enable_backups(client, linode, make_account):
    url, _, _ = linode
    _, read_only = make_account(scopes="linodes:read_only")
    assert client.post(f"{url}/backups/enable", headers=read_only).status_code in (401, 404)
