"""Resizes racing each other, deletes and creates, through real gunicorn workers.

The instance's row lock orders actions on one instance; node row locks and the region's
reservation lock order everything that takes capacity (services/reservations.py). So:
two resizes of one instance act once; a resize and a delete never leave GPUs held by a
deleted instance; a resize and creates racing for the last GPUs never oversell and never
refuse while there is room.
"""

from collections import Counter

import pytest
import requests

from cloudapi.db.jobs import Job
from tests.integration.test_races import BODY, _burst, _count, _env
from tests.support.gunicorn import Gunicorn
from tests.support.inventory import check_invariants
from tests.support.rows import settle

pytestmark = pytest.mark.slow


def gpu(n):
    return f"g1-gpu-rtx6000-{n}"


def _create(url, headers, plan):
    made = requests.post(url, json={**BODY, "type": plan}, headers=headers, timeout=60)
    assert made.status_code == 200, made.text
    return made.json()["id"]


def _resize(url, headers, instance_id, plan):
    """Disks stay as they are, so the instance can resize back down."""
    body = {"type": plan, "allow_auto_disk_resize": False}
    return requests.post(f"{url}/{instance_id}/resize", json=body, headers=headers, timeout=60)


def test_two_resizes_of_one_instance_act_once(app, add_host, make_account, db, tmp_path):
    for h in range(2):
        add_host(f"gpu-{h + 1}.us-east")
    _, headers = make_account(tags=("employee",))
    with Gunicorn(_env(app), workers=4, log_path=tmp_path / "g.log") as server:
        url = f"{server.url}/v4/linode/instances"
        ids = [_create(url, headers, "g6-standard-2") for _ in range(6)]
        for instance_id in ids:
            settle(db, instance_id, "running")
        answers = _burst([lambda i=i, n=n: _resize(url, headers, i, gpu(n))
                          for i in ids for n in (1, 2)])  # fmt: skip
    assert Counter(r.status_code for r in answers) == {200: 6, 400: 6}
    assert {r.json()["errors"][0]["reason"] for r in answers if r.status_code == 400} == {
        "Linode busy."
    }
    assert _count(db, Job, Job.action == "resize") == 6
    assert check_invariants(db)["gpus_free"] == 16 - sum(
        n for (i, n), r in zip([(i, n) for i in ids for n in (1, 2)], answers, strict=True)
        if r.status_code == 200
    )  # fmt: skip


def test_resize_racing_delete_leaves_nothing_held_by_the_dead(
    app, add_host, make_account, db, tmp_path
):
    for h in range(2):
        add_host(f"gpu-{h + 1}.us-east")
    _, headers = make_account(tags=("employee",))
    with Gunicorn(_env(app), workers=4, log_path=tmp_path / "g.log") as server:
        url = f"{server.url}/v4/linode/instances"
        ids = [_create(url, headers, gpu(1)) for _ in range(6)]
        for instance_id in ids:
            settle(db, instance_id, "running")
        calls = [lambda i=i: _resize(url, headers, i, gpu(2)) for i in ids]
        calls += [lambda i=i: requests.delete(f"{url}/{i}", headers=headers, timeout=60)
                  for i in ids]  # fmt: skip
        answers = _burst(calls)
    assert all(r.status_code == 200 for r in answers[6:]), "every delete succeeds"
    assert all(r.status_code in (200, 404) for r in answers[:6])
    assert check_invariants(db)["gpus_free"] == 16  # every instance is gone, and so are its GPUs


ROUNDS = 4


def test_resize_and_creates_racing_for_the_last_gpus(app, add_host, make_account, db, tmp_path):
    """One 4-GPU node; a 2-GPU instance resizes to 4 while two 1-GPU creates run.

    Whoever comes first decides: the resize takes both free GPUs and the creates are
    refused, or a create goes first and the resize no longer fits (the other create
    does). Either way the node ends full, nothing is held twice, and no request is
    refused while what it needs is free.
    """
    add_host("gpu-1.us-east", nodes=1, gpus_per_node=4)
    _, headers = make_account(tags=("employee",))
    outcomes = Counter()
    with Gunicorn(_env(app), workers=4, log_path=tmp_path / "g.log") as server:
        url = f"{server.url}/v4/linode/instances"
        first = _create(url, headers, gpu(2))
        for _round in range(ROUNDS):
            settle(db, first, "running")
            calls = [lambda: _resize(url, headers, first, gpu(4))]
            calls += [lambda: requests.post(url, json={**BODY, "type": gpu(1)}, headers=headers,
                                            timeout=60) for _ in range(2)]  # fmt: skip
            resized, *created = _burst(calls)
            made = [r.json()["id"] for r in created if r.status_code == 200]
            outcome = (resized.status_code, len(made))
            assert outcome in ((200, 0), (400, 2)), outcome
            assert check_invariants(db)["gpus_free"] == 0
            outcomes[outcome] += 1
            for instance_id in made:
                assert requests.delete(f"{url}/{instance_id}", headers=headers,
                                       timeout=60).status_code == 200  # fmt: skip
            if resized.status_code == 200:  # back to two GPUs for the next round
                settle(db, first, "running")
                assert _resize(url, headers, first, gpu(2)).status_code == 200
            assert check_invariants(db)["gpus_free"] == 2
    assert sum(outcomes.values()) == ROUNDS
