"""How the SDK suite's tests are dealt into shards (tests/compat/test_linode_api4_suite.py)."""

from tests.compat.test_linode_api4_suite import shards_of

IDS = [f"t.py::test_{n}" for n in range(12)]


def test_tests_sharing_a_fixture_share_a_shard_in_the_suites_order():
    shared = {IDS[1]: ["linode"], IDS[4]: ["linode"], IDS[9]: ["linode", "disk"],
              IDS[10]: ["disk"], IDS[3]: ["other"]}  # fmt: skip
    shards = shards_of(IDS, shared, 4)
    together = next(s for s in shards if IDS[1] in s)
    assert together == [IDS[1], IDS[4], IDS[9], IDS[10]]  # "disk" joins it through test_9
    assert sorted(i for s in shards for i in s) == sorted(IDS)
    for shard in shards:
        assert shard == sorted(shard, key=IDS.index)


def test_without_shared_fixtures_the_shards_are_even():
    shards = shards_of(IDS, {}, 5)
    assert sorted(len(s) for s in shards) == [2, 2, 2, 3, 3]
    assert shards_of(IDS[:2], {}, 5) == [[IDS[0]], [IDS[1]]]
