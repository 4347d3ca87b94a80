"""The RTX 4000 Ada launch, region by region and to a share of accounts, on a real server.

tests/api/test_launch_regions.py is the reference (the embedded default). Here the same
flips go through the CLI and UnleashFlagAdmin to the session's Unleash server, and must
leave it answering every caller exactly as flags/ with the same Setting applied would.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cloudapi.flagging import definitions
from cloudapi.flagging.admin import audit_entries, flag_admin
from cloudapi.flagging.caches import BootstrapCache
from cloudapi.flagging.context import context_for
from cloudapi.flagging.definitions import Setting
from cloudapi.flagging.rollout import Scope
from cloudapi.principal import Principal
from cloudapi.services.demo_hosts import RTX4000_ADA

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("cloudapi"))
LAUNCH = "gpu-rtx4000-ada-launch"
EARLY_ACCESS = "gpu-rtx4000-ada-early-access"
FEATURE = "/projects/default/features/" + LAUNCH
ENVIRONMENT = FEATURE + "/environments/development"
RM = "release-manager@example.com"
REGIONS = ("us-ord", "us-sea", "us-east", None)  # None: a question about no one region
DEFINED_ROLLOUT = 100  # flags/' rollout for LAUNCH: what Setting.rollout None stands for


def principal(account_id=None, tags=(), betas=()):
    return Principal(0, account_id, "u", "", tuple(tags), tuple(betas), frozenset(), False)


CALLERS = {
    "employee": principal(1, tags=("employee",)),
    "beta": principal(2, betas=("rtx4000-ada-beta",)),
    "customer": principal(3),
    "ex-employee": principal(4, tags=("ex-employee",)),
    "anonymous": None,
}
CUSTOMERS = [principal(n) for n in range(100, 300)]  # for rollout shares


def server_config(server):
    return {"UNLEASH_URL": server.url, "UNLEASH_API_TOKEN": server.client_token,
            "UNLEASH_ADMIN_TOKEN": server.admin_token, "UNLEASH_REFRESH_INTERVAL": 1,
            "UNLEASH_DISABLE_METRICS": True}  # fmt: skip


def run_cli(env, *args, ok=True):
    proc = subprocess.run([CLI, *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert (proc.returncode == 0) is ok, proc.stderr
    return proc.stdout if ok else proc.stderr


def wait_until(check, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)


def scope_of(feature):
    """(on, region IN values or None, rollout) of a feature as the server or an SDK holds it."""
    (strategy,) = [s for s in feature["strategies"] if s["name"] == "flexibleRollout"]
    regions = [c["values"] for c in strategy["constraints"] if c["contextName"] == "region"]
    others = [c for c in strategy["constraints"] if c["contextName"] != "region"]
    assert len(regions) <= 1 and not others, strategy
    return (feature["enabled"], tuple(sorted(regions[0])) if regions else None,
            int(strategy["parameters"]["rollout"]))  # fmt: skip


def expected(setting):
    regions = tuple(setting.regions) if setting.regions is not None else None
    rollout = DEFINED_ROLLOUT if setting.rollout is None else setting.rollout
    return (setting.enabled, regions, rollout)


def on_server(server):
    """LAUNCH in development as the Admin API returns it: (scope, its one strategy)."""
    feature = server.admin("GET", FEATURE).json()
    (env,) = [e for e in feature["environments"] if e["name"] == "development"]
    (strategy,) = env["strategies"]
    return scope_of({**env, "strategies": [strategy]}), strategy


def put_strategy(server, strategy):
    """Replace LAUNCH's strategy on the server, by hand (as in Unleash's UI)."""
    _, current = on_server(server)
    fields = ("name", "parameters", "constraints", "variants", "segments", "title")
    body = {k: strategy[k] for k in fields if k in strategy}
    response = server.admin("PUT", f"{ENVIRONMENT}/strategies/{current['id']}", body)
    assert response.status_code == 200, response.text


def served(server):
    return scope_of(definitions.by_name(server.client_features())[LAUNCH])


def held(flags):
    """LAUNCH as the SDK of a FeatureFlags holds it now (the document it last loaded)."""
    return scope_of(definitions.by_name(json.loads(flags.cache.current()))[LAUNCH])


@pytest.fixture
def synced(unleash_server, app):
    """flags/ pushed to the session's server, LAUNCH off and unscoped as flags/ defines it
    (other tests, and this file's for the other database, may have scoped it)."""
    config = {"DATABASE_URL": app.config["DATABASE_URL"], **server_config(unleash_server)}
    env = {k: str(v) for k, v in config.items()}
    run_cli(env, "flags", "sync")
    reset(unleash_server)
    yield env
    reset(unleash_server)  # the session's server is shared: leave LAUNCH as flags/ has it


def reset(unleash_server):
    assert unleash_server.admin("POST", f"{ENVIRONMENT}/off").status_code == 200
    wanted = definitions.by_name(definitions.load())[LAUNCH]["strategies"][0]
    put_strategy(unleash_server, {**wanted, "variants": [], "segments": [], "title": ""})
    wait_until(lambda: served(unleash_server) == (False, None, 100), "LAUNCH reset")


@pytest.fixture
def ada_hosts(add_host):
    """RTX 4000 Ada hosts in Chicago and Seattle; RTX 6000 hosts in Newark."""
    return [add_host("ada-1.us-ord", "us-ord", gpu=RTX4000_ADA),
            add_host("ada-1.us-sea", "us-sea", gpu=RTX4000_ADA),
            add_host("gpu-1.us-east")]  # fmt: skip


def test_sync_creates_the_region_context_field_once(unleash_server, synced):
    env = synced
    # The session's server has it from an earlier sync; unused now (synced), so removable.
    unleash_server.admin("DELETE", "/context/region")
    assert unleash_server.admin("GET", "/context/region").status_code == 404
    assert run_cli(env, "flags", "sync").splitlines() == [
        "created context field region", "1 change(s)"]  # fmt: skip
    field = unleash_server.admin("GET", "/context/region")
    assert field.status_code == 200 and field.json()["name"] == "region"
    assert run_cli(env, "flags", "sync").strip() == "in sync"


def test_a_region_scoped_launch_through_the_cli(unleash_server, synced, ada_hosts, db):
    env, server = synced, unleash_server
    out = run_cli(env, "flags", "enable", LAUNCH, "--region", "us-ord", "--actor", RM)
    assert out.splitlines() == [
        f"{LAUNCH}: off -> on (us-ord) [development, unleash]",
        "  regions: everywhere -> us-ord"]  # fmt: skip
    scope, strategy = on_server(server)
    assert scope == (True, ("us-ord",), 100)
    (constraint,) = strategy["constraints"]
    assert constraint == {"contextName": "region", "operator": "IN", "values": ["us-ord"],
                          "caseInsensitive": False, "inverted": False}  # fmt: skip
    assert strategy["parameters"] == {"rollout": "100", "stickiness": "default",
                                      "groupId": LAUNCH}  # fmt: skip
    wait_until(lambda: served(server) == (True, ("us-ord",), 100), "served in us-ord")

    run_cli(env, "flags", "enable", LAUNCH, "--region", "us-sea", "--actor", RM)
    assert on_server(server)[0] == (True, ("us-ord", "us-sea"), 100)
    # Nothing to sell there (RTX 6000 hosts only): refused, the server left as it was.
    refused = run_cli(env, "flags", "enable", LAUNCH, "--region", "us-east", ok=False)
    assert "No sellable capacity for gpu-rtx4000-ada in us-east" in refused
    assert on_server(server)[0] == (True, ("us-ord", "us-sea"), 100)
    out = run_cli(env, "flags", "disable", LAUNCH, "--region", "us-ord", "--actor", RM)
    assert out.splitlines()[0] == f"{LAUNCH}: on -> on (us-sea) [development, unleash]"
    scope, after = on_server(server)
    assert scope == (True, ("us-sea",), 100) and after["id"] == strategy["id"]
    wait_until(lambda: served(server) == (True, ("us-sea",), 100), "served in us-sea")

    audit = audit_entries(db)
    assert [(a["flag"], a["from"], a["to"], a["actor"]) for a in audit] == [
        (LAUNCH, True, True, RM), (LAUNCH, True, True, RM), (LAUNCH, False, True, RM)]  # fmt: skip
    assert [a["change"] for a in audit] == [
        "regions: us-ord,us-sea -> us-sea", "regions: us-ord -> us-ord,us-sea",
        "regions: everywhere -> us-ord"]  # fmt: skip
    listing = run_cli(env, "flags", "list")
    assert f"{LAUNCH:<30} on  [development, unleash] in us-sea" in listing
    # A sync now finds the launch's strategy (scoped since) and adds no unscoped one.
    assert run_cli(env, "flags", "sync").strip() == "in sync"
    assert on_server(server)[0] == (True, ("us-sea",), 100)


def test_a_rollback_turns_it_off_on_the_server(unleash_server, synced, make_app, ada_hosts):
    app = make_app(**server_config(unleash_server))
    flags = app.extensions["cloudapi.flags"]
    admin = flag_admin(app.config, app.extensions["cloudapi.db"])
    admin.set_enabled(LAUNCH, True, RM, Scope(add_regions=("us-sea",)))
    customer = CALLERS["customer"]
    wait_until(lambda: flags.is_enabled(LAUNCH, customer, "us-sea"), "the SDK sees the launch")
    assert not flags.is_enabled(LAUNCH, customer, "us-ord")

    out = run_cli(synced, "flags", "disable", LAUNCH, "--actor", RM)
    assert out.splitlines() == [f"{LAUNCH}: on -> off [development, unleash]",
                                "  regions: us-sea -> everywhere"]  # fmt: skip
    assert on_server(unleash_server)[0] == (False, None, 100)
    wait_until(lambda: not flags.is_enabled(LAUNCH, customer, "us-sea"), "the SDK sees it off")
    assert not any(flags.is_enabled(LAUNCH, customer, r) for r in REGIONS)
    assert flags.is_enabled(EARLY_ACCESS, CALLERS["employee"], "us-ord")  # early access stays
    # Off first, then the region constraint dropped: never on everywhere in between.
    newest = unleash_server.events(feature=f"IS:{LAUNCH}")[:2]
    assert [e["type"] for e in newest] == ["feature-strategy-update",
                                           "feature-environment-disabled"]  # fmt: skip


def test_a_scope_flip_keeps_the_rest_of_the_strategy(unleash_server, synced, make_app,
                                                      ada_hosts):  # fmt: skip
    """Unleash's PUT empties the variants it is not sent: ones set on the server survive."""
    pilot = {"name": f"ada-pilot-{time.time_ns()}", "constraints": []}  # matches everyone
    segment = unleash_server.admin("POST", "/segments", pilot)
    assert segment.status_code == 201, segment.text
    _, strategy = on_server(unleash_server)
    blue = {"name": "blue", "weight": 1000, "weightType": "variable", "stickiness": "default"}
    put_strategy(unleash_server, {**strategy, "variants": [blue], "title": "Ada pilot",
                                  "segments": [segment.json()["id"]]})  # fmt: skip
    app = make_app(**server_config(unleash_server))
    admin = flag_admin(app.config, app.extensions["cloudapi.db"])
    admin.set_enabled(LAUNCH, True, RM, Scope(add_regions=("us-ord",), rollout=30))
    scope, after = on_server(unleash_server)
    assert scope == (True, ("us-ord",), 30)
    assert (after["id"], after["title"], after["segments"]) == (
        strategy["id"], "Ada pilot", [segment.json()["id"]])  # fmt: skip
    assert [v["name"] for v in after["variants"]] == ["blue"]


def sdk_answers(sdk, callers):
    return {(who, region, flag): sdk.is_enabled(flag, context_for(p, region))
            for who, p in callers.items() for region in REGIONS
            for flag in (LAUNCH, EARLY_ACCESS)}  # fmt: skip


def features(flags, callers):
    out = {}
    for who, p in callers.items():
        found = flags.evaluate(p)
        out[who] = (frozenset(found), found.everywhere, found.regional)
    return out


def accounts_in(sdk, region):
    return {p.account_id for p in CUSTOMERS if sdk.is_enabled(LAUNCH, context_for(p, region))}


def as_on_server(change):
    return change.replace("as defined", str(DEFINED_ROLLOUT)) if change else change


def flip_both(server, admins, enabled, scope):
    """The same flip through both admins: the same Setting, audit text and server state."""
    remote_flip, local_flip = (a.set_enabled(LAUNCH, enabled, RM, scope) for a in admins)
    setting, remote_setting = (
        Setting(f.new, tuple(f.regions) if f.regions is not None else None, f.rollout)
        for f in (local_flip, remote_flip)
    )
    step = (enabled, scope, expected(setting))
    assert (remote_flip.old, expected(remote_setting)) == (local_flip.old, step[2])
    # The same audit text, but for a rollout the embedded default never set: the server
    # has flags/' own 100 where the embedded default says "as defined".
    assert remote_flip.change == as_on_server(local_flip.change), step
    assert on_server(server)[0] == step[2], step
    (info,) = [f for f in admins[0].flags() if f.name == LAUNCH]
    regions = None if info.regions is None else tuple(info.regions)
    assert expected(Setting(info.enabled, regions, info.rollout)) == step[2], step
    return setting, step


def same_answers(server, remote, local, setting, step):
    """Both apps' SDKs answer as a bare SDK fed flags/ with `setting`; their Features agree.

    Returns the customers it is on for, per region. Each SDK is waited for: it loads
    the new document on its next poll (the server's) or flag-watcher reload (ours).
    """
    wait_until(lambda: held(remote) == held(local) == step[2], f"{step} held by both apps")
    doc = definitions.with_states(definitions.load(), {LAUNCH: setting})
    bare = server.sdk_client(cache=BootstrapCache(doc), url="http://unleash.invalid/api")
    try:
        # Below 100% an anonymous caller (no userId to hash) is drawn at random each time.
        callers = {w: p for w, p in CALLERS.items() if p is not None or step[2][2] == 100}
        wanted = sdk_answers(bare, callers)
        wait_until(lambda: sdk_answers(remote.client, callers) == wanted, f"{step} server SDK")
        wait_until(lambda: sdk_answers(local.client, callers) == wanted, f"{step} embedded SDK")
        assert features(remote, callers) == features(local, callers), step
        shares = {}
        for region in REGIONS:
            shares[region] = accounts_in(bare, region)
            assert accounts_in(remote.client, region) == shares[region], (step, region)
            assert accounts_in(local.client, region) == shares[region], (step, region)
        return shares
    finally:
        bare.destroy()


STEPS = [  # (enable?, scope): the launch of test_launch_regions.py, then gradual ones
    (True, Scope(add_regions=("us-ord",))),
    (True, Scope(add_regions=("us-sea",))),
    (False, Scope(remove_regions=("us-ord",))),
    (True, Scope(everywhere=True, rollout=30)),
    (True, Scope(rollout=70)),
    (False, Scope()),
    (True, Scope(add_regions=("us-ord",), rollout=30)),
    (False, Scope()),
]


def test_the_server_answers_as_flags_with_the_same_setting(
    unleash_server, synced, make_app, db, ada_hosts
):
    remote_app = make_app(**server_config(unleash_server))
    local_app = make_app(UNLEASH_REFRESH_INTERVAL=1)  # the embedded default, same database
    remote, local = (a.extensions["cloudapi.flags"] for a in (remote_app, local_app))
    admins = [flag_admin(a.config, db) for a in (remote_app, local_app)]
    assert [a.mode for a in admins] == ["unleash", "embedded"]
    shares = {}
    for enabled, scope in STEPS:
        setting, step = flip_both(unleash_server, admins, enabled, scope)
        shares[step[2]] = same_answers(unleash_server, remote, local, setting, step)

    everyone = {p.account_id for p in CUSTOMERS}
    in_sea = shares[(True, ("us-sea",), 100)]
    assert in_sea["us-sea"] == everyone and in_sea["us-ord"] == in_sea[None] == set()
    at_30, at_70 = shares[(True, None, 30)][None], shares[(True, None, 70)][None]
    assert 0 < len(at_30) < len(at_70) < len(everyone)
    assert at_30 <= at_70  # raising the share keeps every account that was in
    in_ord = shares[(True, ("us-ord",), 30)]
    assert in_ord["us-ord"] == at_30 and in_ord["us-sea"] == in_ord[None] == set()
    assert shares[(False, None, 30)] == dict.fromkeys(REGIONS, set())
