"""NUMA-affine best-fit placement, on plain objects."""

import pytest

from cloudapi.domain.placement import (
    PREFERRED,
    GpuView,
    HostView,
    NoCapacity,
    NodeView,
    Request,
    fit_count,
    place,
)

ONE, TWO, THREE, FOUR = (Request(1, 8, 32768), Request(2, 16, 65536), Request(3, 20, 98304),
                         Request(4, 24, 131072))  # fmt: skip


def node(node_id, index, gpus=4, threads=38, memory=196608):
    views = tuple(GpuView(node_id * 100 + g, f"0000:{node_id:02x}:{g:02x}.0") for g in range(gpus))
    return NodeView(node_id, index, views, tuple(range(threads)), memory)


def host(host_id, *nodes, status="active"):
    return HostView(host_id, f"h{host_id}", status, tuple(nodes))


def take(hosts, chosen):
    """Apply a placement to the views, as the reservation would."""
    out = []
    for h in hosts:
        nodes = []
        for n in h.nodes:
            part = next((p for p in chosen.parts if p.node_id == n.id), None)
            if part and h.id == chosen.host_id:
                gpus = tuple(g for g in n.free_gpus if g.id not in part.gpu_ids)
                threads = tuple(t for t in n.free_threads if t not in part.threads)
                n = NodeView(n.id, n.index, gpus, threads, n.free_memory_mb - part.memory_mb)
            nodes.append(n)
        out.append(HostView(h.id, h.hostname, h.status, tuple(nodes)))
    return out


def test_everything_lands_on_one_node():
    chosen = place(TWO, [host(1, node(1, 0), node(2, 1))])
    (part,) = chosen.parts
    assert len(part.gpu_ids) == 2 and len(part.threads) == 16 and part.memory_mb == 65536


def test_two_one_gpu_instances_share_a_node_not_one_each():
    hosts = [host(1, node(1, 0), node(2, 1))]
    first = place(ONE, hosts)
    hosts = take(hosts, first)
    second = place(ONE, hosts)
    assert first.parts[0].node_id == second.parts[0].node_id


def test_best_fit_prefers_the_node_the_plan_fills_exactly():
    hosts = [host(1, node(1, 0, gpus=4), node(2, 1, gpus=2))]
    assert place(TWO, hosts).parts[0].node_id == 2  # leaves the whole node for a 4-GPU plan


def test_a_four_gpu_plan_fits_after_one_gpu_plans_only_if_a_node_is_whole():
    hosts = [host(1, node(1, 0), node(2, 1))]
    for _ in range(4):
        hosts = take(hosts, place(ONE, hosts))
    assert place(FOUR, hosts).parts[0].node_id == 2  # node 1 is full, node 2 whole
    hosts = [host(1, node(1, 0), node(2, 1))]
    hosts = take(hosts, place(ONE, hosts))
    hosts = take(hosts, place(THREE, hosts))  # fills node 1's remaining 3
    hosts = take(hosts, place(ONE, hosts))  # must break into node 2
    with pytest.raises(NoCapacity):
        place(FOUR, hosts)


def test_strict_fails_when_no_single_node_has_room():
    hosts = [host(1, node(1, 0, gpus=2), node(2, 1, gpus=2))]
    with pytest.raises(NoCapacity) as caught:
        place(THREE, hosts)
    assert "single NUMA node" in caught.value.reason


def test_preferred_uses_the_fewest_nodes_of_one_host():
    hosts = [host(1, node(1, 0, gpus=2), node(2, 1, gpus=2)),
             host(2, node(3, 0, gpus=1), node(4, 1, gpus=1), node(5, 2, gpus=1))]  # fmt: skip
    chosen = place(Request(3, 20, 98304, PREFERRED), hosts)
    assert chosen.host_id == 1 and len(chosen.parts) == 2
    assert sum(len(p.gpu_ids) for p in chosen.parts) == 3
    assert sum(len(p.threads) for p in chosen.parts) == 20
    assert sum(p.memory_mb for p in chosen.parts) == 98304


def test_preferred_still_takes_one_node_when_one_fits():
    hosts = [host(1, node(1, 0, gpus=1), node(2, 1, gpus=3))]
    chosen = place(Request(3, 20, 98304, PREFERRED), hosts)
    assert [p.node_id for p in chosen.parts] == [2]


def test_cpus_and_memory_bind_too():
    hosts = [host(1, node(1, 0, gpus=4, threads=10), node(2, 1, gpus=4, memory=16384))]
    with pytest.raises(NoCapacity):
        place(TWO, hosts)  # node 1 lacks threads, node 2 lacks memory
    assert place(Request(1, 8, 16384), hosts).parts[0].node_id == 1


def test_hosts_that_are_not_active_are_never_chosen():
    hosts = [host(1, node(1, 0), status="maintenance"), host(2, node(2, 0), status="draining"),
             host(3, node(3, 0, gpus=1))]  # fmt: skip
    assert place(ONE, hosts).host_id == 3
    with pytest.raises(NoCapacity):
        place(TWO, hosts)


def test_ties_go_to_the_fuller_host_then_the_lower_id():
    hosts = [host(1, node(1, 0), node(2, 1)), host(2, node(3, 0), node(4, 1, gpus=0))]
    assert place(ONE, hosts).host_id == 2  # same node fit; host 2 has fewer free GPUs
    same = [host(5, node(5, 0)), host(4, node(4, 0))]
    assert place(ONE, same).host_id == 4


def test_deterministic():
    hosts = [
        host(i, node(i * 2, 0, gpus=i % 4 + 1), node(i * 2 + 1, 1, gpus=3)) for i in range(1, 9)
    ]
    assert len({place(TWO, hosts) for _ in range(5)}) == 1
    assert place(TWO, hosts) == place(TWO, list(reversed(hosts)))


def test_no_hosts_is_no_capacity():
    with pytest.raises(NoCapacity):
        place(ONE, [])


@pytest.mark.parametrize(
    ("free", "expected"),
    [((4, 38, 196608), {ONE: 4, TWO: 2, THREE: 1, FOUR: 1}),
     ((3, 38, 196608), {ONE: 3, TWO: 1, THREE: 1, FOUR: 0}),
     ((4, 15, 196608), {ONE: 1, TWO: 0, THREE: 0, FOUR: 0}),
     ((0, 38, 196608), {ONE: 0, TWO: 0, THREE: 0, FOUR: 0})],
)  # fmt: skip
def test_fit_count(free, expected):
    assert {req: fit_count(req, *free) for req in expected} == expected
