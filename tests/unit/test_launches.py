"""Launch definitions (flags/launches/), region scopes and flip semantics, without a server."""

import json

import pytest

from cloudapi.errors import Invalid
from cloudapi.features import Features, in_region
from cloudapi.flagging import definitions, launches
from cloudapi.flagging.definitions import DefinitionError, Setting
from cloudapi.flagging.rollout import Scope, describe_change, newly_open, next_setting
from cloudapi.flagging.scopes import EVERY_REGION, region_scopes

FLAG_DOC = definitions.load()


def write(tmp_path, **docs):
    folder = tmp_path / "launches"
    folder.mkdir(exist_ok=True)
    for name, doc in docs.items():
        (folder / f"{name}.json").write_text(json.dumps(doc))
    return folder


def launch_doc(**changes):
    return {"feature": "f", "early_access_flag": "gpu-linodes-early-access",
            "launch_flag": "gpu-linodes-launch", "plans": {"ids": ["p1"]}, **changes}  # fmt: skip


def test_the_shipped_launches_load():
    found = launches.load()
    assert [launch.feature for launch in found] == ["gpu-linodes", "gpu-rtx4000-ada"]
    ada = found.by_feature["gpu-rtx4000-ada"]
    assert ada.flags == ("gpu-rtx4000-ada-launch", "gpu-rtx4000-ada-early-access")
    assert len(ada.plan_ids) == 9 and ada.beta == "rtx4000-ada-beta"
    assert found.parameter_features("numa_affinity") == {"gpu-linodes", "gpu-rtx4000-ada"}
    assert found.hidden_parameters(frozenset()) == ("numa_affinity",)
    assert found.hidden_parameters(frozenset({"gpu-rtx4000-ada"})) == ()


@pytest.mark.parametrize(
    ("docs", "message"),
    [
        ({"a": launch_doc(launch_flag="nope")}, "flag 'nope' is not in the flags file"),
        ({"a": launch_doc(), "b": launch_doc(feature="g")}, "belongs to two launches"),
        ({"a": launch_doc(launch_flag="gpu-linodes-early-access",
                          early_access_flag="gpu-linodes-launch")},
         "needs exactly one flexibleRollout"),  # early access has two strategies
        ({"a": launch_doc(colour="red")}, "unknown keys ['colour']"),
        ({"a": launch_doc(plans={})}, "plans must name ids and/or classes"),
        ({"a": launch_doc(), "b": launch_doc()}, "defined twice"),
    ],
)  # fmt: skip
def test_bad_definitions_never_start(tmp_path, docs, message):
    with pytest.raises(DefinitionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        launches.load(write(tmp_path, **docs), FLAG_DOC)


def test_plans_by_id_before_class():
    found = launches.Launches([
        launches._launch(launch_doc(feature="by-class", plans={"classes": ["gpu"]}), "x"),
        launches._launch(launch_doc(feature="by-id", plans={"ids": ["g9"]}), "y"),
    ])  # fmt: skip

    class Plan:
        def __init__(self, id, type_class):
            self.id, self.type_class = id, type_class

    assert found.plan_feature(Plan("g9", "gpu")) == "by-id"
    assert found.plan_feature(Plan("g8", "gpu")) == "by-class"
    assert found.plan_feature(Plan("g6-standard-1", "standard")) is None


def test_features_anywhere_and_in_a_region():
    features = Features({"a"}, {"b": {"us-ord"}})
    assert features == {"a", "b"} and "b" in features
    assert features.in_region("us-ord") == {"a", "b"}
    assert features.in_region("us-sea") == {"a"}
    assert in_region(frozenset({"a", "b"}), "us-sea") == {"a", "b"}  # a plain set: everywhere


def test_region_scopes_name_the_regions_to_ask_about():
    doc = definitions.with_states(FLAG_DOC, {"gpu-rtx4000-ada-launch": Setting(True, ("us-ord",))})
    assert region_scopes(json.dumps(doc)) == {"gpu-rtx4000-ada-launch": frozenset({"us-ord"})}
    odd = {"features": [{"name": "x", "strategies": [{"constraints": [
        {"contextName": "region", "operator": "NOT_IN", "values": ["us-ord"]}]}]}]}  # fmt: skip
    assert region_scopes(json.dumps(odd)) == {"x": EVERY_REGION}
    assert region_scopes("not json") == {}


def test_with_states_scopes_only_the_rollout_strategy():
    doc = definitions.with_states(
        FLAG_DOC, {"gpu-rtx4000-ada-launch": Setting(True, ("b", "a"), 25)}
    )
    (strategy,) = definitions.by_name(doc)["gpu-rtx4000-ada-launch"]["strategies"]
    assert strategy["parameters"]["rollout"] == "25"
    assert strategy["constraints"] == [{"contextName": "region", "operator": "IN",
                                        "values": ["a", "b"], "caseInsensitive": False,
                                        "inverted": False}]  # fmt: skip
    assert definitions.by_name(FLAG_DOC)["gpu-rtx4000-ada-launch"]["strategies"][0][
        "constraints"] == []  # the loaded document is left alone  # fmt: skip


OFF, EVERYWHERE = Setting(False), Setting(True)


@pytest.mark.parametrize(
    ("current", "enabled", "scope", "expected", "change"),
    [
        (OFF, True, Scope(), EVERYWHERE, None),
        (OFF, True, Scope(add_regions=("b",)), Setting(True, ("b",)), "regions: everywhere -> b"),
        (Setting(True, ("b",)), True, Scope(add_regions=("a",)), Setting(True, ("a", "b")),
         "regions: b -> a,b"),
        (Setting(False, ("b",)), True, Scope(add_regions=("a",)), Setting(True, ("a",)),
         "regions: b -> a"),  # a flag that was off starts from the regions named
        (Setting(True, ("a", "b")), False, Scope(remove_regions=("a",)), Setting(True, ("b",)),
         "regions: a,b -> b"),
        (Setting(True, ("a",)), False, Scope(remove_regions=("a",)), OFF,
         "regions: a -> everywhere"),
        (Setting(True, ("a",)), True, Scope(everywhere=True), EVERYWHERE,
         "regions: a -> everywhere"),
        (EVERYWHERE, True, Scope(rollout=30), Setting(True, None, 30),
         "rollout: as defined -> 30%"),
        (Setting(True, ("a",), 30), False, Scope(), Setting(False, None, 30),
         "regions: a -> everywhere"),
    ],
)  # fmt: skip
def test_next_setting(current, enabled, scope, expected, change):
    new = next_setting("l", current, enabled, scope)
    assert new == expected
    assert describe_change(current, new) == change


def test_refused_scopes():
    with pytest.raises(Invalid):
        next_setting("l", EVERYWHERE, True, Scope(add_regions=("a",)))  # would narrow a launch
    with pytest.raises(Invalid):
        next_setting("l", EVERYWHERE, False, Scope(remove_regions=("a",)))
    with pytest.raises(Invalid):
        next_setting("l", OFF, False, Scope(add_regions=("a",)))


def test_newly_open():
    assert newly_open(OFF, Setting(True, ("a",)), ("a", "b")) == {"a"}
    assert newly_open(Setting(True, ("a",)), EVERYWHERE, ("a", "b")) == {"b"}
    assert newly_open(EVERYWHERE, OFF, ("a", "b")) == set()


def test_anonymous_callers_are_steady_in_a_partial_rollout():
    from UnleashClient import UnleashClient
    from UnleashClient.utils import InstanceAllowType

    from cloudapi.flagging.caches import BootstrapCache
    from cloudapi.flagging.evaluation import LaunchEvaluator

    doc = definitions.with_states(FLAG_DOC, {"gpu-rtx4000-ada-launch": Setting(True, None, 30)})
    cache = BootstrapCache(doc)
    sdk = UnleashClient(url="http://unleash.invalid/api", app_name="unit", cache=cache,
                        disable_metrics=True, disable_registration=True,
                        multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW)  # fmt: skip
    sdk.initialize_client(fetch_toggles=False)
    try:
        evaluator = LaunchEvaluator(sdk, cache.current, launches.load())
        answers = {"gpu-rtx4000-ada" in evaluator.evaluate(None) for _ in range(50)}
    finally:
        sdk.destroy()
    assert len(answers) == 1  # without a shared session id this flickers
