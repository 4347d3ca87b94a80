"""Property test: random create/delete sequences through placement and reservation."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from cloudapi.db.instances import Instance, InstanceTag
from cloudapi.db.inventory import Allocation, Gpu, NumaNode
from cloudapi.db.jobs import Event, Job
from cloudapi.errors import Invalid
from cloudapi.principal import Principal
from cloudapi.services import instances
from tests.support.inventory import check_invariants

PLANS = {n: f"g1-gpu-rtx6000-{n}" for n in range(1, 5)}
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.sampled_from(sorted(PLANS)),
                  st.sampled_from(["strict", "preferred"])),
        st.tuples(st.just("delete"), st.integers(0, 30), st.none()),
    ),
    max_size=30,
)  # fmt: skip


def reset(db):
    """Back to an empty inventory between examples (the hosts stay)."""
    with db.transaction() as session:
        session.execute(update(Gpu).values(instance_id=None))
        for model in (Allocation, Event, Job, InstanceTag, Instance):
            session.execute(delete(model))
        session.execute(update(NumaNode).values(
            gpus_free=NumaNode.gpus_total, threads_free=NumaNode.threads_total,
            memory_free_mb=NumaNode.memory_mb,
        ))  # fmt: skip


def single_node_fits(db, plan):
    with db.reader() as session:
        return session.scalar(
            select(NumaNode.id).where(
                NumaNode.gpus_free >= plan.gpus, NumaNode.threads_free >= plan.vcpus,
                NumaNode.memory_free_mb >= plan.memory,
            ).limit(1)
        ) is not None  # fmt: skip


@pytest.fixture
def setup(app, add_host, make_account):
    add_host("gpu-1.us-east")  # 2 nodes x 4 GPUs
    add_host("gpu-2.us-east", nodes=1, gpus_per_node=3)
    account_id, _ = make_account(tags=("employee",))
    who = Principal(0, account_id, "prop", "", ("employee",), (), frozenset({"*"}), False)
    return app, who


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(ops=OPS)
def test_random_sequences_keep_the_inventory_consistent(setup, ops):
    app, who = setup
    db = app.extensions["cloudapi.db"]
    snapshot = app.extensions["cloudapi.catalog"].snapshot()
    reset(db)
    live = []
    for op, arg, affinity in ops:
        if op == "create":
            plan = snapshot.types[PLANS[arg]]
            fits = single_node_fits(db, plan)
            body = {"type": plan.id, "region": "us-east", "numa_affinity": affinity}
            try:
                made = instances.create(db, snapshot, who, frozenset({"gpu-linodes"}), body)
            except Invalid as exc:
                assert exc.errors[0]["field"] == "type"
                assert not fits  # strict or not, a single node that fits is never refused
                continue
            assert fits or affinity == "preferred"
            live.append((made.id, plan.gpus))
        elif live:
            instance_id, _ = live.pop(arg % len(live))
            instances.power(db, who, instance_id, "delete")
        totals = check_invariants(db)
        assert totals["gpus_total"] - totals["gpus_free"] == sum(g for _, g in live)
