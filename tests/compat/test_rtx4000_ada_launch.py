"""The RTX 4000 Ada launch as customers see it: linode-cli and linode_api4, unmodified.

Early access (the `employee` tag, the rtx4000-ada-beta enrollment), a launch scoped to
us-ord (flipped with `cloudapi flags enable --region`, on the embedded default and once on a
real Unleash server), a sticky percentage rollout, and the rollback. The raw-API view of the
same launch is tests/api/test_launch_regions.py; the Unleash server's own parity is
tests/integration/test_unleash_regions.py.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from linode_api4 import AccountAvailability, ApiError, Instance, Type
from UnleashClient.utils import normalized_hash

from cloudapi.flagging import definitions
from cloudapi.services.demo_hosts import RTX4000_ADA
from tests.compat.conftest import STRONG_PASSWORD, cli_errors, cli_json, token_of

pytestmark = pytest.mark.slow  # a live server, linode-cli processes, `cloudapi flags` processes

LAUNCH = "gpu-rtx4000-ada-launch"
BETA = "rtx4000-ada-beta"
CAPABILITY = "GPU Linodes"
ADA_IDS = {"g2-gpu-rtx4000a1-s", "g2-gpu-rtx4000a1-m", "g2-gpu-rtx4000a1-l",
           "g2-gpu-rtx4000a1-xl", "g2-gpu-rtx4000a2-s", "g2-gpu-rtx4000a2-m",
           "g2-gpu-rtx4000a2-hs", "g2-gpu-rtx4000a4-s", "g2-gpu-rtx4000a4-m"}  # fmt: skip
RTX6000_IDS = {f"g1-gpu-rtx6000-{n}" for n in range(1, 5)}
SMALL = "g2-gpu-rtx4000a1-s"
NO_SUCH_TYPE = "g9-nothing-1"
NOT_HERE = {"field": "region", "reason": "GPU Linodes are not available in this region"}
IMAGE = "linode/debian12"
CLOUDAPI = str(Path(sys.executable).with_name("cloudapi"))
RELEASE_MANAGER = "release-manager@example.com"
FLIP_TIMEOUT = 15  # seconds for a flip to reach the app (refresh 1 s; Unleash caches ~1 s)


@pytest.fixture
def app(request, make_app):
    """The app, re-reading flag state every second; with the indirect parameter `unleash`,
    its flags come from the session's real Unleash server instead of the embedded default."""
    if getattr(request, "param", "embedded") == "unleash":
        server = request.getfixturevalue("unleash_server")
        return make_app(UNLEASH_URL=server.url, UNLEASH_API_TOKEN=server.client_token,
                        UNLEASH_ADMIN_TOKEN=server.admin_token, UNLEASH_REFRESH_INTERVAL=1,
                        UNLEASH_DISABLE_METRICS=True)  # fmt: skip
    return make_app(UNLEASH_REFRESH_INTERVAL=1)


@pytest.fixture
def ada_hosts(add_host):
    """An 8-GPU RTX 4000 Ada host in Chicago (us-ord) and one in Seattle (us-sea)."""
    return [add_host("ada-1.us-ord", "us-ord", gpu=RTX4000_ADA),
            add_host("ada-1.us-sea", "us-sea", gpu=RTX4000_ADA)]  # fmt: skip


@pytest.fixture
def flags_cli(app):
    """Run `cloudapi flags ARGS` as a release manager does, on the app's database (and its
    Unleash server, if any); return what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNLEASH_")}
    env["DATABASE_URL"] = app.config["DATABASE_URL"]
    if app.config["UNLEASH_URL"]:
        env.update(UNLEASH_URL=app.config["UNLEASH_URL"],
                   UNLEASH_API_TOKEN=app.config["UNLEASH_API_TOKEN"],
                   UNLEASH_ADMIN_TOKEN=app.config["UNLEASH_ADMIN_TOKEN"],
                   UNLEASH_REFRESH_INTERVAL="1", UNLEASH_DISABLE_METRICS="1")  # fmt: skip

    def run(*args):
        proc = subprocess.run([CLOUDAPI, "flags", *args], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert proc.returncode == 0, f"cloudapi flags {' '.join(args)}: {proc.stderr}"
        return proc.stdout

    return run


def wait_for(what, check, timeout=FLIP_TIMEOUT):
    """Poll `check` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.2)
    return found


def sdk_ada(api):
    """The RTX 4000 Ada plans `LinodeClient.linode.types()` lists."""
    return {t.id for t in api.linode.types()} & ADA_IDS


def cli_types(cli, token):
    """Every plan id `linode-cli linodes types` lists."""
    return {t["id"] for t in cli_json(cli(token, "linodes", "types"))}


def cli_create(cli, token, region, label, plan=SMALL):
    return cli(token, "linodes", "create", "--type", plan, "--region", region, "--image", IMAGE,
               "--root_pass", STRONG_PASSWORD, "--label", label)  # fmt: skip


def sdk_create(api, region, plan=SMALL, **kwargs):
    return api.linode.instance_create(plan, region, image=IMAGE, root_pass=STRONG_PASSWORD,
                                      **kwargs)  # fmt: skip


def sdk_refusal(api, region, plan=SMALL):
    with pytest.raises(ApiError) as refused:
        sdk_create(api, region, plan)
    return refused.value


def capabilities(cli, token, region):
    (viewed,) = cli_json(cli(token, "regions", "view", region))
    assert viewed["id"] == region
    return viewed["capabilities"]


def admin_flip(client, admin_headers, action, **scope):
    response = client.post(f"/admin/flags/{LAUNCH}/{action}", json=scope, headers=admin_headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_employees_have_early_access_and_customers_see_nothing(cli, sdk, make_token, ada_hosts):
    employee, customer = make_token(tags=("employee",)), make_token()

    # linode-cli: all nine plans, with their shape and price, and the RTX 6000 plans too.
    listed = {t["id"]: t for t in cli_json(cli(employee, "linodes", "types"))}
    assert set(listed) >= ADA_IDS | RTX6000_IDS
    small = listed[SMALL]
    assert (small["label"], small["class"], small["gpus"], small["vcpus"], small["memory"]) == (
        "RTX4000 Ada x1 Small", "gpu", 1, 4, 16384)  # fmt: skip
    assert small["price"] == {"hourly": 0.52, "monthly": 350.0}
    assert {t: listed[t]["gpus"] for t in ("g2-gpu-rtx4000a2-s", "g2-gpu-rtx4000a4-m")} == {
        "g2-gpu-rtx4000a2-s": 2, "g2-gpu-rtx4000a4-m": 4}  # fmt: skip

    # linode_api4: the same plans, also through the server-side class filter.
    api = sdk(employee)
    assert sdk_ada(api) == ADA_IDS
    gpu_class = {t.id for t in api.linode.types(Type.type_class == "gpu")}
    assert gpu_class >= ADA_IDS | RTX6000_IDS
    assert all(t.type_class == "gpu" for t in api.linode.types(Type.type_class == "gpu"))

    # Both clients create one in Chicago.
    made = sdk_create(api, "us-ord", "g2-gpu-rtx4000a2-s", label="ada-sdk-employee")
    assert isinstance(made, Instance) and made.status == "provisioning"
    assert (made.type.id, made.region.id, made.specs.gpus) == ("g2-gpu-rtx4000a2-s", "us-ord", 2)
    assert made.type.label == "RTX4000 Ada x2 Small"  # lazy-loads GET /linode/types/{id}
    (created,) = cli_json(cli_create(cli, employee, "us-ord", "ada-cli-employee"))
    assert (created["type"], created["region"], created["status"]) == (
        SMALL, "us-ord", "provisioning")  # fmt: skip
    assert {i.id for i in api.linode.instances()} == {made.id, created["id"]}

    # A plain customer: no plan listed by either client...
    plain = sdk(customer)
    assert sdk_ada(plain) == set()
    assert not cli_types(cli, customer) & (ADA_IDS | RTX6000_IDS)
    # ...and every way of asking for one answers as for a plan that does not exist.
    hidden, missing = sdk_refusal(plain, "us-ord"), sdk_refusal(plain, "us-ord", NO_SUCH_TYPE)
    assert hidden.status == missing.status == 400
    assert hidden.json == missing.json and hidden.json["errors"][0]["field"] == "type"
    hidden_cli = cli_create(cli, customer, "us-ord", "ada-cli-customer")
    missing_cli = cli_create(cli, customer, "us-ord", "ada-cli-customer", NO_SUCH_TYPE)
    assert hidden_cli.returncode == missing_cli.returncode == 2
    assert "400" in hidden_cli.stderr
    assert cli_errors(hidden_cli) == cli_errors(missing_cli) == hidden.json["errors"]
    with pytest.raises(ApiError) as unknown:
        plain.load(Type, SMALL)
    assert unknown.value.status == 404
    assert list(plain.linode.instances()) == []


def test_beta_enrollment_gives_early_access(client, admin_headers, cli, sdk, make_token,
                                            ada_hosts):  # fmt: skip
    by_cli, by_sdk = make_token(), make_token()

    # Not open yet: nothing to see, nothing to join.
    assert cli_json(cli(by_cli, "betas", "list")) == []
    closed = cli(by_cli, "betas", "enroll", "--id", BETA)
    assert closed.returncode == 2 and [e["field"] for e in cli_errors(closed)] == ["id"]

    opened = client.post(f"/admin/betas/{BETA}/open", headers=admin_headers)
    assert opened.status_code == 200, opened.get_json()

    # linode-cli: list, enroll, and the plans are there at once; not the RTX 6000 ones.
    assert BETA in {b["id"] for b in cli_json(cli(by_cli, "betas", "list"))}
    enrolled = cli(by_cli, "betas", "enroll", "--id", BETA)
    assert enrolled.returncode == 0, enrolled.stderr
    assert [b["id"] for b in cli_json(cli(by_cli, "betas", "enrolled"))] == [BETA]
    listed = cli_types(cli, by_cli)
    assert listed >= ADA_IDS and not listed & RTX6000_IDS
    (created,) = cli_json(cli_create(cli, by_cli, "us-ord", "ada-cli-beta"))
    assert (created["type"], created["region"]) == (SMALL, "us-ord")

    # linode_api4: find the program, join it, see and create (early access: any GPU region).
    api = sdk(by_sdk)
    assert sdk_ada(api) == set()
    (program,) = [b for b in api.beta.betas() if b.id == BETA]
    assert api.account.join_beta_program(program) is True
    assert [b.id for b in api.account.enrolled_betas()] == [BETA]
    assert sdk_ada(api) == ADA_IDS
    assert not {t.id for t in api.linode.types()} & RTX6000_IDS
    made = sdk_create(api, "us-sea", label="ada-sdk-beta")
    assert (made.type.id, made.region.id, made.specs.gpus) == (SMALL, "us-sea", 1)


@pytest.mark.parametrize("app", ["embedded", "unleash"], indirect=True)
def test_a_launch_scoped_to_us_ord(app, flags_cli, cli, sdk, make_token, ada_hosts):
    employee, customer = make_token(tags=("employee",)), make_token()
    api, early = sdk(customer), sdk(employee)
    try:
        if app.config["UNLEASH_URL"]:
            flags_cli("sync")  # flags/ onto the server (creates what is missing)
            flags_cli("disable", LAUNCH, "--actor", RELEASE_MANAGER)  # as another test left it
        wait_for("early access only", lambda: sdk_ada(early) == ADA_IDS and not sdk_ada(api))

        flipped = flags_cli("enable", LAUNCH, "--region", "us-ord", "--actor", RELEASE_MANAGER)
        assert f"{LAUNCH}: off -> on (us-ord" in flipped  # Unleash adds ", 100%"
        assert "regions: everywhere -> us-ord" in flipped
        wait_for("the plans listed to customers", lambda: sdk_ada(api) == ADA_IDS)
        assert cli_types(cli, customer) >= ADA_IDS  # listed: launched somewhere

        # Where: Chicago has the capability and says available; Seattle (hosts, not
        # launched) does not, except for early access.
        assert CAPABILITY in capabilities(cli, customer, "us-ord")
        assert CAPABILITY not in capabilities(cli, customer, "us-sea")
        assert CAPABILITY in capabilities(cli, employee, "us-sea")
        assert api.load(AccountAvailability, "us-sea").unavailable == [CAPABILITY]
        assert CAPABILITY in api.load(AccountAvailability, "us-ord").available
        plans = {(e.region, e.plan): e.available for e in api.regions.availability()}
        assert (plans[("us-ord", SMALL)], plans[("us-sea", SMALL)]) == (True, False)

        # Chicago creates; Seattle refuses with the reason, through both clients.
        (created,) = cli_json(cli_create(cli, customer, "us-ord", "ada-cli-ord"))
        assert (created["type"], created["region"], created["specs"]["gpus"]) == (
            SMALL, "us-ord", 1)  # fmt: skip
        refused = sdk_refusal(api, "us-sea")
        assert refused.status == 400 and refused.json["errors"] == [NOT_HERE]
        assert f"region: {NOT_HERE['reason']}" in str(refused)
        refused_cli = cli_create(cli, customer, "us-sea", "ada-cli-sea")
        assert refused_cli.returncode == 2 and "400" in refused_cli.stderr
        assert cli_errors(refused_cli) == [NOT_HERE]
        assert [i.id for i in api.linode.instances()] == [created["id"]]
        assert sdk_create(early, "us-sea").region.id == "us-sea"  # early access: anywhere
    finally:
        if app.config["UNLEASH_URL"]:  # the session's server: leave the launch off
            flags_cli("disable", LAUNCH, "--actor", RELEASE_MANAGER)


def test_a_percentage_rollout_is_sticky_per_account(client, admin_headers, make_account, sdk,
                                                    ada_hosts):  # fmt: skip
    """At 30% then 70% (everywhere): Unleash's flexibleRollout puts an account in when
    murmur3("groupId:account id") % 100 + 1 <= the rollout, so whoever is in at 30 is in at
    70. Accounts are added (20 at least) until both steps move someone."""
    (strategy,) = definitions.by_name(definitions.load())[LAUNCH]["strategies"]
    group = strategy["parameters"]["groupId"]
    apis, buckets = {}, {}

    def within(rollout):
        return {a for a, bucket in buckets.items() if bucket <= rollout}

    while len(apis) < 20 or not 0 < len(within(30)) < len(within(70)) < len(apis):
        assert len(apis) < 60
        account_id, headers = make_account()
        apis[account_id] = sdk(token_of(headers))
        buckets[account_id] = normalized_hash(str(account_id), group)

    def seeing():
        return {a for a, api in apis.items() if sdk_ada(api)}

    assert seeing() == set()
    assert admin_flip(client, admin_headers, "enable", rollout=30)["rollout"] == 30
    wait_for(f"the 30% rollout ({sorted(within(30))})", lambda: seeing() == within(30))
    at_30 = seeing()
    assert at_30 == within(30)  # the same accounts on the next request too

    flip = admin_flip(client, admin_headers, "enable", rollout=70)
    assert flip["change"] == "rollout: 30 -> 70%"
    wait_for(f"the 70% rollout ({sorted(within(70))})", lambda: seeing() == within(70))
    at_70 = seeing()
    assert at_30 < at_70 < set(apis)  # nobody who had the plans lost them


def test_a_rollback_hides_the_plans_and_keeps_instances(client, admin_headers, cli, sdk,
                                                        make_token, ada_hosts):  # fmt: skip
    customer, employee = make_token(), make_token(tags=("employee",))
    api, early = sdk(customer), sdk(employee)
    admin_flip(client, admin_headers, "enable")
    wait_for("the launch", lambda: sdk_ada(api) == ADA_IDS)
    made = sdk_create(api, "us-ord", label="ada-before-rollback")

    flip = admin_flip(client, admin_headers, "disable")
    assert (flip["from"], flip["to"]) == (True, False)
    wait_for("the rollback", lambda: not sdk_ada(api))
    assert not cli_types(cli, customer) & ADA_IDS
    assert sdk_ada(early) == ADA_IDS  # early access stays

    # The customer's instance reads as before, through both clients, plan included.
    (viewed,) = cli_json(cli(customer, "linodes", "view", str(made.id)))
    assert (viewed["id"], viewed["label"], viewed["type"], viewed["region"]) == (
        made.id, "ada-before-rollback", SMALL, "us-ord")  # fmt: skip
    assert viewed["specs"]["gpus"] == 1
    kept = api.load(Instance, made.id)
    assert (kept.type.id, kept.status) == (SMALL, made.status)
    assert kept.type.label == "RTX4000 Ada x1 Small"  # owners still read their plan
    # A new one is refused as for a plan that does not exist.
    hidden, missing = sdk_refusal(api, "us-ord"), sdk_refusal(api, "us-ord", NO_SUCH_TYPE)
    assert hidden.status == 400 and hidden.json == missing.json
    assert [i.id for i in api.linode.instances()] == [made.id]
