"""The HTTP bench's verdicts and scenario selection, on made-up figures (no server)."""

from types import SimpleNamespace

import pytest

from bench import ceiling_sql, scenarios, verdicts


def side(name, rps, p50=10.0, p99=20.0, errors=0):
    return SimpleNamespace(name=name, rps=rps, p50_ms=p50, p99_ms=p99, errors=errors)


def by_target(found):
    return {v.target: v for v in found}


def test_ratio_to_its_own_ceiling():
    summaries = {
        ("list", "real"): side("instances list", 300.0),
        ("list", "ceiling"): side("instances list", 1000.0),
        ("get", "real"): side("instance get", 400.0),
        ("get", "ceiling"): side("instance get", 1000.0),
    }
    found = by_target(verdicts.ratio_verdicts(summaries))
    assert found["instances list: req/s >= 0.3x its ceiling"].passed  # 0.30 counts
    assert found["instances list: req/s >= 0.3x its ceiling"].value == pytest.approx(0.3)
    assert not found["instance get: req/s >= 0.5x its ceiling"].passed
    assert len(found) == 2  # the other targets were not measured: left out


def test_errors_make_a_miss_whatever_the_figures():
    summaries = {
        ("create", "real"): side("instances create", 900.0, errors=3),
        ("create", "ceiling"): side("instances create", 1000.0),
    }
    ratio, rate, tail = (
        verdicts.ratio_verdicts(summaries)[0],
        verdicts.rate_verdicts(summaries)[0],
        verdicts.tail_verdicts(summaries)[0],
    )
    assert (ratio.passed, rate.passed, tail.passed) == (False, False, False)
    assert "3 errors" in ratio.line() and "MISS" in ratio.line()


def test_create_rate_and_tail():
    summaries = {("create", "real"): side("instances create", 300.0, p50=10.0, p99=100.0)}
    assert verdicts.rate_verdicts(summaries)[0].passed
    assert verdicts.tail_verdicts(summaries)[0].passed  # exactly 10x
    summaries = {("create", "real"): side("instances create", 299.9, p50=10.0, p99=100.1)}
    assert not verdicts.rate_verdicts(summaries)[0].passed
    assert not verdicts.tail_verdicts(summaries)[0].passed


def test_tail_is_judged_on_real_sides_only():
    summaries = {
        ("types", "real"): side("types anonymous", 1.0, p50=1.0, p99=5.0),
        ("types", "ceiling"): side("types anonymous", 1.0, p50=1.0, p99=50.0),
    }
    found = verdicts.tail_verdicts(summaries)
    assert [v.passed for v in found] == [True]


def test_cost_flat_compares_p50_with_the_plain_list():
    summaries = {
        ("list", "real"): side("instances list", 100.0, p50=10.0),
        ("list-10k", "real"): side("list, 10,000 on account", 90.0, p50=15.0),
        ("list-crowded", "real"): side("list, 100x1,000 others", 90.0, p50=12.5),
    }
    found = verdicts.flat_verdicts(summaries)
    assert [(round(v.value, 2), v.passed) for v in found] == [(1.5, True), (1.25, False)]
    assert verdicts.flat_verdicts({("list-10k", "real"): summaries[("list-10k", "real")]}) == []


def test_not_measured_names_the_targets_left_out():
    summaries = {("list", "real"): side("instances list", 1.0)}
    left = verdicts.not_measured(summaries)
    assert "list" not in left and {"create", "gpu-create", "list-10k"} <= set(left)


def test_only_selects_in_table_order_and_brings_the_flat_baseline():
    picked = [s.key for s in scenarios.select("events,list-crowded")]
    assert picked == ["list", "list-crowded", "events"]
    assert [s.key for s in scenarios.select(None)] == list(scenarios.KEYS)
    with pytest.raises(ValueError, match="nope"):
        scenarios.select("list,nope")


def test_needs_follow_the_selection():
    assert scenarios.needs(scenarios.select("list")) == {"bare"}
    assert scenarios.needs(scenarios.select("gpu-create")) == {"fleet", "create-ceiling"}
    assert {"big", "crowded"} <= scenarios.needs(scenarios.select("list-10k,list-crowded"))


def test_rounds_alternate_real_and_ceiling():
    seeded = SimpleNamespace(tokens={"list": "t"}, instance_id=7)
    specs = scenarios.select("get")
    first, second = (scenarios.round_order(specs, seeded, n) for n in (1, 2))
    assert [s.side for s in first] == ["real", "ceiling"]
    assert [s.side for s in second] == ["ceiling", "real"]
    real, ceiling = first
    assert real.path == "/v4/linode/instances/7" and real.server == "main"
    assert ceiling.path == "/v4/linode/instances/7?bench=get" and ceiling.server == "bare"
    assert ceiling.headers == real.headers == {"Authorization": "Bearer t"}


def test_ceiling_rows_match_what_a_create_writes():
    # instance, 1 tag, 2 addresses, job, event; a GPU create: + GPU, node, allocation
    assert ceiling_sql.rows_written("standard", 1) == 6
    assert ceiling_sql.rows_written("gpu", 1) == 9
    assert ceiling_sql.STATEMENTS == {"standard": 1, "gpu": 3}
