"""Races through real gunicorn workers: idempotent creates, power actions, capacity bursts.

Every burst starts its requests together on a barrier, so that they overlap in the
server as much as the machine allows; each test then counts what was written.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from cloudapi.db.instances import Instance
from cloudapi.db.inventory import Gpu
from cloudapi.db.jobs import Event, Job
from tests.support.gunicorn import Gunicorn
from tests.support.inventory import check_invariants
from tests.support.rows import set_status

pytestmark = pytest.mark.slow

BODY = {"region": "us-east", "image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x"}


def _env(app):
    return {"DATABASE_URL": app.config["DATABASE_URL"], "UNLEASH_REFRESH_INTERVAL": "1",
            "RATE_LIMIT": "off", "RATE_LIMIT_CREATE": "off"}  # fmt: skip


def _burst(calls):
    """Run the callables at once (a barrier releases them together); their answers, in order."""
    if not calls:
        return []
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _count(db, model, *where):
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("label", [None, "only-one"], ids=["no-label", "label"])
def test_same_key_creates_one_instance_across_processes(
    app, add_host, make_account, db, tmp_path, label
):
    """20 creates with one key (and one label), over two servers: one instance, one answer."""
    for h in range(3):  # 24 GPUs: room for every one of the 20 to create
        add_host(f"gpu-{h + 1}.us-east")
    account_id, headers = make_account(tags=("employee",))
    keyed = {**headers, "Idempotency-Key": "burst-7f3a"}
    body = {**BODY, "type": "g1-gpu-rtx6000-1", **({"label": label} if label else {})}
    with (
        Gunicorn(_env(app), workers=4, log_path=tmp_path / "a.log") as one,
        Gunicorn(_env(app), workers=2, log_path=tmp_path / "b.log") as two,
    ):
        urls = [f"{s.url}/v4/linode/instances" for s in (one, two)]
        answers = _burst([
            lambda u=urls[i % 2]: requests.post(u, json=body, headers=keyed, timeout=60)
            for i in range(20)
        ])  # fmt: skip
    made = _count(db, Instance, Instance.account_id == account_id)
    held = _count(db, Gpu, Gpu.instance_id.is_not(None))
    statuses = Counter(r.status_code for r in answers)
    assert (made, held, statuses) == (1, 1, {200: 20}), (made, held, statuses)
    assert len({r.text for r in answers}) == 1, "every answer is the first create's"
    assert _count(db, Job, Job.action == "create") == 1
    check_invariants(db)


def _make_instances(server, headers, n):
    url = f"{server.url}/v4/linode/instances"
    made = [requests.post(url, json={**BODY, "type": "g6-nanode-1"}, headers=headers, timeout=30)
            for _ in range(n)]  # fmt: skip
    assert all(r.status_code == 200 for r in made), [r.text for r in made if not r.ok]
    return [r.json()["id"] for r in made]


def _per_instance(db, ids, action):
    """How many jobs and events of `action` each instance got."""
    with db.reader() as session:
        jobs = Counter(
            session.scalars(
                select(Job.instance_id).where(Job.instance_id.in_(ids), Job.action == action)
            )
        )
        events = Counter(session.scalars(select(Event.entity_id).where(
            Event.entity_id.in_(ids), Event.action == f"linode_{action}")))  # fmt: skip
    return jobs, events


def test_parallel_power_actions_act_once(app, make_account, db, tmp_path):
    """3 parallel deletes (then boots) of each of 10 instances: one job and event each."""
    _, headers = make_account()
    with Gunicorn(_env(app), workers=4, log_path=tmp_path / "g.log") as server:
        ids = _make_instances(server, headers, 20)
        boot, gone = ids[:10], ids[10:]
        for instance_id in boot:
            set_status(db, instance_id, "offline")
        url = f"{server.url}/v4/linode/instances"
        calls = [lambda i=i: requests.post(f"{url}/{i}/boot", headers=headers, timeout=60)
                 for i in boot for _ in range(3)]  # fmt: skip
        calls += [lambda i=i: requests.delete(f"{url}/{i}", headers=headers, timeout=60)
                  for i in gone for _ in range(3)]  # fmt: skip
        answers = _burst(calls)
    booted, boot_events = _per_instance(db, boot, "boot")
    deleted, delete_events = _per_instance(db, gone, "delete")
    twice = sorted(i for i in ids if max(booted[i], boot_events[i], deleted[i],
                                         delete_events[i]) > 1)  # fmt: skip
    assert twice == [], f"{len(twice)} of 20 instances acted on twice: {twice}"
    assert all(booted[i] == boot_events[i] == 1 for i in boot)
    assert all(deleted[i] == delete_events[i] == 1 for i in gone)
    boots, deletes = answers[:30], answers[30:]
    assert Counter(r.status_code for r in boots) == {200: 10, 400: 20}
    assert {r.json()["errors"][0]["reason"] for r in boots if r.status_code == 400} == {
        "Linode busy."
    }
    assert Counter(r.status_code for r in deletes) == {200: 10, 404: 20}


MIXED = [1] * 16 + [2] * 8 + [4] * 8  # 64 GPUs: exactly 8 hosts x 2 nodes x 4
ROUNDS = 3


@pytest.mark.parametrize(
    ("hosts", "sizes"), [(2, [1] * 16), (4, [1] * 32), (8, MIXED)], ids=["16x1", "32x1", "mixed32"]
)
def test_burst_against_exact_capacity_all_succeed(
    app, add_host, make_account, db, tmp_path, hosts, sizes
):
    """N concurrent creates against exactly N free slots, 3 times: every one gets its GPUs.

    Between rounds all N are deleted, also at once, so releases race too.
    """
    for h in range(hosts):
        add_host(f"gpu-{h + 1}.us-east")
    _, headers = make_account(tags=("employee",))
    refused = []
    with Gunicorn(_env(app), workers=4, log_path=tmp_path / "g.log") as server:
        url = f"{server.url}/v4/linode/instances"
        for _round in range(ROUNDS):
            answers = _burst([
                lambda n=n: requests.post(url, json={**BODY, "type": f"g1-gpu-rtx6000-{n}"},
                                          headers=headers, timeout=60)
                for n in sizes
            ])  # fmt: skip
            refused += [r.json()["errors"][0]["reason"] for r in answers if r.status_code != 200]
            made = [r.json()["id"] for r in answers if r.status_code == 200]
            assert check_invariants(db)["gpus_free"] == 8 * hosts - sum(
                n for n, r in zip(sizes, answers, strict=True) if r.status_code == 200
            )
            gone = _burst([lambda i=i: requests.delete(f"{url}/{i}", headers=headers, timeout=60)
                           for i in made])  # fmt: skip
            assert all(r.status_code == 200 for r in gone)
            assert check_invariants(db)["gpus_free"] == 8 * hosts
    total = ROUNDS * len(sizes)
    assert refused == [], f"{len(refused)} of {total} refused: {Counter(refused)}"
