"""Host agents report job progress; the customer sees it as events and statuses."""

import threading
import time

import pytest
import requests
from sqlalchemy import select

from cloudapi.db.jobs import Job
from cloudapi.services import tokens

BODY = {"region": "us-east", "image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x"}


@pytest.fixture
def host_token(db):
    def make(host):
        with db.transaction() as session:
            return {"Authorization": f"Bearer {tokens.create(session, host=host)}"}

    return make


def jobs_of(db, instance_id):
    with db.reader() as session:
        return session.scalars(select(Job).where(Job.instance_id == instance_id)
                               .order_by(Job.created)).all()  # fmt: skip


def report(client, headers, job, **body):
    return client.post(f"/internal/jobs/{job.id}/progress", json=body, headers=headers)


@pytest.mark.usefixtures("gpu_hosts")
def test_gpu_create_job_carries_its_placement(client, employee, db):
    linode = client.post("/v4/linode/instances", json={**BODY, "type": "g1-gpu-rtx6000-2"},
                         headers=employee[1]).get_json()  # fmt: skip
    (job,) = jobs_of(db, linode["id"])
    placement = job.payload["placement"]
    assert job.host == placement["host"] and job.host.startswith("gpu-")
    (node,) = placement["nodes"]
    assert len(node["threads"]) == 16 and node["memory_mb"] == 65536
    assert [len(g["iommu_functions"]) for g in node["gpus"]] == [2, 2]
    assert job.payload["specs"] == {"vcpus": 16, "memory_mb": 65536, "disk_mb": 1310720, "gpus": 2}
    standard = client.post("/v4/linode/instances", json={**BODY, "type": "g6-nanode-1"},
                           headers=employee[1]).get_json()  # fmt: skip
    (job,) = jobs_of(db, standard["id"])
    assert job.host == "pool.us-east" and job.payload["placement"] is None


def test_create_to_running_through_reports(client, customer, db, host_token):
    _, headers = customer
    linode = client.post("/v4/linode/instances", json={**BODY, "type": "g6-nanode-1"},
                         headers=headers).get_json()  # fmt: skip
    (job,) = jobs_of(db, linode["id"])
    agent = host_token("pool.us-east")
    url = f"/v4/linode/instances/{linode['id']}"

    def event():
        return client.get("/v4/account/events", headers=headers).get_json()["data"][0]

    assert report(client, agent, job, status="started", percent_complete=10).status_code == 200
    assert (event()["status"], event()["percent_complete"]) == ("started", 10)
    report(client, agent, job, status="started", percent_complete=50, instance_status="booting")
    assert client.get(url, headers=headers).get_json()["status"] == "booting"
    done = report(client, agent, job, status="finished")
    assert done.get_json() == {"job_id": job.id, "state": "done"}
    assert client.get(url, headers=headers).get_json()["status"] == "running"
    finished = event()
    assert finished["status"] == "finished" and finished["percent_complete"] == 100
    assert finished["duration"] is not None and finished["duration"] >= 0
    # A repeated report (an agent redelivery) changes nothing.
    assert report(client, agent, job, status="failed", message="late").get_json()["state"] == "done"
    assert event()["status"] == "finished"

    client.post(f"{url}/shutdown", headers=headers)
    (shutdown,) = [j for j in jobs_of(db, linode["id"]) if j.action == "shutdown"]
    report(client, agent, shutdown, status="finished")
    assert client.get(url, headers=headers).get_json()["status"] == "offline"


@pytest.mark.usefixtures("gpu_hosts")
def test_a_failed_create_frees_its_gpus(client, employee, db, host_token, admin_headers):
    linode = client.post("/v4/linode/instances", json={**BODY, "type": "g1-gpu-rtx6000-4"},
                         headers=employee[1]).get_json()  # fmt: skip
    (job,) = jobs_of(db, linode["id"])
    free = client.get("/admin/capacity", headers=admin_headers).get_json()["regions"][0]
    assert free["gpus_free"] == 12
    failed = report(client, host_token(job.host), job, status="failed", message="VFIO bind failed")
    assert failed.status_code == 200
    free = client.get("/admin/capacity", headers=admin_headers).get_json()["regions"][0]
    assert free["gpus_free"] == 16
    event = client.get("/v4/account/events", headers=employee[1]).get_json()["data"][0]
    assert (event["status"], event["message"]) == ("failed", "VFIO bind failed")
    instance = client.get(f"/v4/linode/instances/{linode['id']}", headers=employee[1]).get_json()
    assert instance["status"] == "offline"


def test_only_the_jobs_host_may_report(client, customer, db, host_token, admin_headers):
    _, headers = customer
    linode = client.post("/v4/linode/instances", json={**BODY, "type": "g6-nanode-1"},
                         headers=headers).get_json()  # fmt: skip
    (job,) = jobs_of(db, linode["id"])
    assert report(client, host_token("pool.eu-central"), job, status="finished").status_code == 403
    for creds in ({}, headers, admin_headers):
        assert report(client, creds, job, status="finished").status_code == 401
    agent = host_token("pool.us-east")
    for bad in ({}, {"status": "done"}, {"status": "started", "percent_complete": 101},
                {"status": "started", "instance_status": "running"},
                {"status": "started", "colour": 1}):  # fmt: skip
        assert report(client, agent, job, **bad).status_code == 400
    missing = client.post("/internal/jobs/nope/progress", json={"status": "finished"},
                          headers=agent)  # fmt: skip
    assert missing.status_code == 404
    # Host tokens are not customer credentials.
    assert client.get("/v4/linode/instances", headers=agent).status_code == 401
    assert client.get("/admin/accounts", headers=agent).status_code == 401


@pytest.mark.slow
def test_the_sdk_poller_waits_for_the_agent(live_server, customer, db, host_token):
    from linode_api4 import LinodeClient

    _, headers = customer
    sdk = LinodeClient(headers["Authorization"].split()[1], base_url=f"{live_server.url}/v4",
                       retry=False)  # fmt: skip
    # The SDK's pattern for creates: the poller first, then the create, then its id.
    poller = sdk.polling.event_poller_create("linode", "linode_create")
    instance = sdk.linode.instance_create(
        "g6-nanode-1", "us-east", image="linode/debian12", root_pass="Gpu-Demo-2026!x"
    )
    poller.set_entity_id(instance.id)
    (job,) = jobs_of(db, instance.id)
    agent = host_token("pool.us-east")

    def act():  # the host agent, a moment later
        time.sleep(1.5)
        with requests.Session() as http:
            for body in ({"status": "started", "percent_complete": 40},
                         {"status": "finished"}):  # fmt: skip
                http.post(f"{live_server.url}/internal/jobs/{job.id}/progress", json=body,
                          headers=agent, timeout=10).raise_for_status()  # fmt: skip

    worker = threading.Thread(target=act)
    worker.start()
    event = poller.wait_for_next_event_finished(timeout=30, interval=1)
    worker.join()
    assert event.status == "finished"
    sdk.polling.wait_for_entity_free("linode", instance.id, timeout=10, interval=1)
    instance.invalidate()
    assert instance.status == "running"
    sdk.session.close()
