"""The flags in flags/ evaluated by the real Unleash SDK, offline, from the bootstrap."""

import json
from pathlib import Path

import pytest
from UnleashClient import UnleashClient
from UnleashClient.utils import InstanceAllowType

from cloudapi.flagging import definitions, launches
from cloudapi.flagging.caches import BootstrapCache
from cloudapi.flagging.context import context_for, delimited
from cloudapi.principal import Principal

FLAGS_FILE = Path(__file__).resolve().parents[2] / "flags" / "features.json"
GPU_EARLY_ACCESS, GPU_LAUNCH = "gpu-linodes-early-access", "gpu-linodes-launch"


def principal(tags=(), betas=(), account_id=7):
    return Principal(1, account_id, "u", "u@example.com", tuple(tags), tuple(betas),
                     frozenset({"*"}), False)  # fmt: skip


@pytest.fixture
def sdk():
    made = []

    def make(states=None):
        doc = definitions.with_states(definitions.load(FLAGS_FILE), states or {})
        client = UnleashClient(
            url="http://unleash.invalid/api", app_name="cloudapi-unit", cache=BootstrapCache(doc),
            disable_metrics=True, disable_registration=True,
            multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
        )  # fmt: skip
        made.append(client)
        return client

    yield make
    for client in made:
        client.destroy()


def test_every_flag_belongs_to_one_launch():
    names = {f["name"] for f in json.loads(FLAGS_FILE.read_text())["features"]}
    found = launches.for_flags_file(FLAGS_FILE)
    assert {flag for launch in found for flag in launch.flags} == names
    assert found.by_feature["gpu-linodes"].flags == (GPU_LAUNCH, GPU_EARLY_ACCESS)


def test_delimited_context_never_matches_a_substring():
    assert delimited(["employee"]) == ",employee,"
    assert ",employee," not in delimited(["ex-employee", "employees"])
    assert context_for(None) == {"properties": {"accountTags": "", "betas": ""}}
    ctx = context_for(principal(tags=("employee", "beta")))
    assert ctx["userId"] == "7" and ctx["properties"]["accountTags"] == ",beta,employee,"


@pytest.mark.parametrize(
    ("who", "early"),
    [
        (principal(tags=("employee",)), True),
        (principal(tags=("employee", "ops")), True),
        (principal(betas=("gpu-beta",)), True),
        (principal(tags=("ex-employee",)), False),
        (principal(tags=("employees",)), False),
        (principal(betas=("gpu-beta-2",)), False),
        (principal(), False),
        (None, False),
    ],
)
def test_early_access_before_launch(sdk, who, early):
    client = sdk()
    ctx = context_for(who)
    assert client.is_enabled(GPU_EARLY_ACCESS, ctx) is early
    assert client.is_enabled(GPU_LAUNCH, ctx) is False


@pytest.mark.parametrize("who", [principal(), principal(tags=("employee",)), None])
def test_launch_is_on_for_everyone(sdk, who):
    client = sdk({GPU_LAUNCH: True})
    assert client.is_enabled(GPU_LAUNCH, context_for(who)) is True


def test_unknown_flag_is_off(sdk):
    assert sdk({GPU_LAUNCH: True}).is_enabled("no-such-flag", context_for(None)) is False


def test_definitions_are_checked(tmp_path):
    bad = tmp_path / "bad.json"
    for text in ("{", '{"version": 1, "features": []}',
                 '{"version": 2, "features": [{"name": "a"}, {"name": "a"}]}'):  # fmt: skip
        bad.write_text(text)
        with pytest.raises(definitions.DefinitionError):
            definitions.load(bad)
