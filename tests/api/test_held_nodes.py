"""PostgreSQL: a GPU create does not wait for a reservation in flight on another node; it
waits (never refuses) when every node that fits is held, and rather than break a whole
node while a part-used one is held (services/reservations.py).

A reservation in flight is a transaction holding its node's row lock; here another
connection takes that lock and keeps its transaction open.
"""

import threading
import time

import pytest
from sqlalchemy import select, text

from cloudapi.db.inventory import Gpu, NumaNode
from tests.support.inventory import check_invariants

BODY = {"region": "us-east", "image": "linode/debian12", "root_pass": "Gpu-Demo-2026!x"}
ONE_GPU = {**BODY, "type": "g1-gpu-rtx6000-1"}


def gpu(n):
    return {**BODY, "type": f"g1-gpu-rtx6000-{n}"}


@pytest.fixture
def postgres(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks in flight: PostgreSQL only (SQLite serialises every writer)")
    return db


def _node_of(db, instance_id):
    with db.reader() as session:
        return session.scalar(select(Gpu.numa_node_id).where(Gpu.instance_id == instance_id))


def _hold(db, node_ids):
    """An open transaction holding `node_ids` as a reservation in flight does."""
    conn = db.engine.connect()
    conn.execute(text("SELECT id FROM numa_nodes WHERE id = ANY(:ids) FOR UPDATE"),
                 {"ids": list(node_ids)})  # fmt: skip
    return conn


def _nodes(db):
    with db.reader() as session:
        return list(session.scalars(select(NumaNode.id).order_by(NumaNode.id)))


def _create(client, headers, body):
    made = client.post("/v4/linode/instances", json=body, headers=headers)
    assert made.status_code == 200, made.get_data(as_text=True)
    return made.get_json()["id"]


def _in_thread(client, headers, body):
    """Start a create in a thread; its answer lands in the returned dict as "made"."""
    answer = {}
    worker = threading.Thread(target=lambda: answer.update(
        made=client.post("/v4/linode/instances", json=body, headers=headers)))  # fmt: skip
    worker.start()
    return worker, answer


def test_a_create_skips_a_held_node_instead_of_waiting(client, employee, add_host, postgres):
    add_host("gpu-1.us-east")  # 2 nodes x 4 GPUs
    headers = employee[1]
    best = _node_of(postgres, _create(client, headers, gpu(3)))  # 1 GPU left: the best fit
    other = _node_of(postgres, _create(client, headers, gpu(2)))  # the other node, 2 left
    holder = _hold(postgres, [best])
    try:
        started = time.monotonic()
        made = _create(client, headers, ONE_GPU)
        took = time.monotonic() - started
        assert _node_of(postgres, made) == other
        assert took < 2.0, f"the create waited {took:.1f} s for a node it did not need"
    finally:
        holder.rollback()
        holder.close()
    # Nothing held any more: one GPU left on each node, and both can be sold.
    assert {_node_of(postgres, _create(client, headers, ONE_GPU)) for _ in range(2)} == {
        best,
        other,
    }
    assert check_invariants(postgres)["gpus_free"] == 0


def test_a_held_part_used_node_is_waited_for_not_a_whole_node_broken(
    client, employee, add_host, postgres
):
    add_host("gpu-1.us-east")
    headers = employee[1]
    part_used = _node_of(postgres, _create(client, headers, ONE_GPU))
    holder = _hold(postgres, [part_used])
    try:
        worker, answer = _in_thread(client, headers, ONE_GPU)
        worker.join(0.8)
        assert worker.is_alive(), "the create broke the whole node instead of waiting"
    finally:
        holder.rollback()
        holder.close()
    worker.join(30)
    assert answer["made"].status_code == 200, answer["made"].get_data(as_text=True)
    assert _node_of(postgres, answer["made"].get_json()["id"]) == part_used
    _create(client, headers, gpu(4))  # the other node is still whole
    assert check_invariants(postgres)["gpus_free"] == 2


def test_a_create_waits_for_held_nodes_and_takes_what_they_leave(
    client, employee, add_host, postgres
):
    add_host("gpu-1.us-east")
    headers = employee[1]
    holder = _hold(postgres, _nodes(postgres))  # every node that could fit is in flight
    try:
        worker, answer = _in_thread(client, headers, ONE_GPU)
        worker.join(0.8)
        assert worker.is_alive(), "a create answered while every node was held"
    finally:
        holder.rollback()  # the reservations in flight end without taking anything
        holder.close()
    worker.join(30)
    made = answer["made"]
    assert made.status_code == 200, made.get_data(as_text=True)
    assert _node_of(postgres, made.get_json()["id"]) in _nodes(postgres)
    assert check_invariants(postgres)["gpus_free"] == 7
